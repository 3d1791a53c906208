"""`sigrelay user add|remove|list`: argon2 hashes the users-file backend accepts."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from proxy.auth import Identity
from proxy.auth.users import UsersFile
from sigrelay.cli import main


def _run(tmp_path: Path, *args: str, stdin: str | None = None):
    env = {"SIGRELAY_DATA": str(tmp_path / "data")}
    return CliRunner().invoke(main, ["user", *args], input=stdin, env=env)


async def test_added_user_can_authenticate_with_the_password_from_stdin(tmp_path: Path):
    result = _run(tmp_path, "add", "Anna.Schmidt@example.com", "--password-stdin", stdin="s3cret\n")
    assert result.exit_code == 0, result.output
    users = UsersFile(tmp_path / "data" / "users")
    assert await users.verify("anna.schmidt@example.com", "s3cret") == Identity(
        login="anna.schmidt@example.com", address="anna.schmidt@example.com"
    )
    assert await users.verify("anna.schmidt@example.com", "s3cret\n") is None


def test_users_file_holds_argon2id_hashes_readable_only_by_the_owner(tmp_path: Path):
    _run(tmp_path, "add", "anna@example.com", "--password-stdin", stdin="s3cret\n")
    path = tmp_path / "data" / "users"
    assert path.read_text().startswith("anna@example.com:$argon2id$")
    assert "s3cret" not in path.read_text()
    assert path.stat().st_mode & 0o777 == 0o600


def test_list_and_remove(tmp_path: Path):
    for name in ("ben@example.com", "anna@example.com"):
        _run(tmp_path, "add", name, "--password-stdin", stdin="pw\n")
    assert _run(tmp_path, "list").output.split() == ["anna@example.com", "ben@example.com"]
    assert _run(tmp_path, "remove", "ben@example.com").exit_code == 0
    assert _run(tmp_path, "list").output.split() == ["anna@example.com"]
    assert _run(tmp_path, "remove", "ben@example.com").exit_code == 1


def test_password_prompt_asks_twice_and_refuses_a_mismatch(tmp_path: Path):
    result = _run(tmp_path, "add", "anna@example.com", stdin="one\ntwo\none\none\n")
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output.lower()
