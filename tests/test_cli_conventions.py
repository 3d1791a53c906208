"""The command line's conventions (issue 17, item 5): --version, passwords from
stdin, one JSON document per --json, an empty list that says so, a missing
table that says what to run, and progress only at a terminal."""

from __future__ import annotations

import json
import re

from argon2 import PasswordHasher
from click.testing import CliRunner

from sigrelay import progress
from sigrelay.cli import main

PASSWORD = "a long admin password from a script"


def test_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and re.fullmatch(
        r"sigrelay, version \d+\.\d+\.\d+\S*\n", result.output
    )


def test_admin_hash_reads_the_password_from_stdin():
    result = CliRunner().invoke(main, ["admin", "hash", "--password-stdin"], input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    (hashed,) = re.findall(r'password_hash = "(\$argon2[^"]+)"', result.output)
    assert PasswordHasher().verify(hashed, PASSWORD)
    short = CliRunner().invoke(main, ["admin", "hash", "--password-stdin"], input="short\n")
    assert short.exit_code != 0 and "12 characters" in short.output


def test_user_list_says_when_it_is_empty(tmp_path):
    env = {"SIGRELAY_DATA": str(tmp_path)}
    result = CliRunner().invoke(main, ["user", "list"], env=env)
    assert result.exit_code == 0
    assert "no users in" in result.output and "sigrelay user add" in result.output


def test_every_json_option_prints_one_document(tmp_path):
    env = {"SIGRELAY_DATA": str(tmp_path)}
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    for args in (["spool", "list", "--json"], ["stats", "--json"], ["purge", "--json"],
                 ["optout", "list", "--json"]):  # fmt: skip
        result = runner.invoke(main, args, env=env)
        assert result.exit_code == 0, (args, result.output)
        json.loads(result.stdout)  # one document, not one per line (logs go to stderr)


def test_a_store_without_tables_says_run_db_upgrade(tmp_path):
    result = CliRunner().invoke(main, ["stats"], env={"SIGRELAY_DATA": str(tmp_path)})
    assert result.exit_code == 1
    assert "run `sigrelay db upgrade`" in result.output and "Traceback" not in result.output


def test_progress_draws_nothing_in_scripts(capsys):
    assert list(progress.tracked([1, 2, 3], "counting")) == [1, 2, 3]
    with progress.working("thinking"):
        pass
    assert capsys.readouterr().err == ""  # pytest's stderr is not a terminal
