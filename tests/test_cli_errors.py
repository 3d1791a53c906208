"""The command line turns every package's errors into one line an admin can
act on, with exit code 1: never a traceback (sigrelay/cli.py)."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner, Result

from sigrelay.cli import main


def _run(tmp_path: Path, *args: str, **env: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"SIGRELAY_DATA": str(tmp_path), **env})


def _said_plainly(result: Result) -> str:
    """The message, checked to be one an admin reads, not a program's."""
    assert result.exit_code == 1, result.output
    output = result.output.removeprefix("Error: ")  # click's own word
    assert "Traceback" not in output
    assert not re.search(r"\w+Error\b", output), output  # no class names
    return output


def test_a_tracker_error_says_what_to_do(tmp_path: Path):
    result = _run(tmp_path, "forget", "kim@customer.test",
                  SIGRELAY_PSEUDONYM_KEY_FILE=str(tmp_path / "absent"))  # fmt: skip
    output = _said_plainly(result)
    assert f"$SIGRELAY_PSEUDONYM_KEY_FILE={tmp_path / 'absent'}: No such file" in output
    assert "make the file readable, or unset" in output


def test_a_store_used_wrongly_names_the_urls_that_work(tmp_path: Path):
    output = _said_plainly(_run(tmp_path, "stats", SIGRELAY_STORE__URL="mysql://db/sigrelay"))
    assert "store URL scheme 'mysql' is not supported" in output
    assert "use sqlite+aiosqlite:///PATH or postgresql+asyncpg://" in output


def test_a_proxy_error_names_the_line_to_fix(tmp_path: Path):
    (tmp_path / "users").write_text("anna@example.com:$argon2id$...\nben@example.com\n")
    output = _said_plainly(_run(tmp_path, "user", "list"))
    assert f"{tmp_path / 'users'}:2: expected 'login:$argon2...'" in output
    assert "fix or remove that line" in output


def test_an_unknown_queue_id_points_at_the_list(tmp_path: Path):
    output = _said_plainly(_run(tmp_path, "spool", "retry", "1K0000000000000000A"))
    assert "queue id 1K0000000000000000A is not in the spool" in output
    assert "`sigrelay spool list`" in output


def test_an_invalid_configuration_lists_file_field_and_reason(tmp_path: Path):
    output = _said_plainly(_run(tmp_path, "stats", SIGRELAY_RELAY__LISTEN="nowhere"))
    assert "invalid configuration" in output and "relay.listen" in output
