"""`sigrelay optout …` and `sigrelay consent …` as an admin runs them (processes)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from exampleflow import cli_json

KIM, LEE = "kim@customer.test", "lee@partner.test"


async def _run(env: dict[str, str], *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sigrelay", *args,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


@pytest.fixture
async def admin_env(env: dict[str, str]) -> dict[str, str]:
    code, out = await _run(env, "db", "upgrade")
    assert code == 0, out
    return env


async def test_optout_add_list_remove_by_address_without_storing_it(admin_env: dict[str, str]):
    added = await cli_json(admin_env, "optout", "add", KIM, "--choice", "anonymous")
    listed = await cli_json(admin_env, "optout", "list", KIM, LEE)
    assert listed["addresses"] == {KIM: "anonymous", LEE: "in"}
    assert [row["recipient_key"] for row in listed["optouts"]] == [added["recipient_key"]]
    assert "kim" not in str(listed["optouts"])
    assert (await cli_json(admin_env, "optout", "remove", KIM))["removed"] is True
    assert (await cli_json(admin_env, "optout", "list", KIM))["addresses"] == {KIM: "in"}


async def test_consent_import_reads_the_email_column_of_a_csv(
    admin_env: dict[str, str], tmp_path: Path
):
    csv_file = tmp_path / "consents.csv"
    csv_file.write_text(f"name,email\nKim,{KIM.upper()}\nLee,{LEE}\n", encoding="utf-8")
    assert (await cli_json(admin_env, "consent", "import", str(csv_file)))["imported"] == 2
    listed = await cli_json(admin_env, "consent", "list", KIM, "max@customer.test")
    assert listed["addresses"] == {KIM: True, "max@customer.test": False}


async def test_a_csv_row_without_an_address_is_an_error_naming_the_file(
    admin_env: dict[str, str], tmp_path: Path
):
    csv_file = tmp_path / "consents.csv"
    csv_file.write_text(f"email\n{KIM}\nnot-an-address\n", encoding="utf-8")
    code, out = await _run(admin_env, "consent", "import", str(csv_file))
    assert code != 0 and "consents.csv: 1 row(s) without an address" in out
