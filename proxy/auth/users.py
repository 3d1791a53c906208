"""The users file: `login:argon2-hash` per line, managed by `sigrelay user`.

The login is the user's mail address (that is what the sender check
compares). Hashes are argon2id (argon2-cffi defaults, RFC 9106). The file is
re-read when it changes, so `sigrelay user add` takes effect without a
restart; it is written by rename with mode 0600.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from config.durable import PRIVATE, write_durably
from proxy.auth import Identity
from proxy.errors import ProxyError

_HASHER = PasswordHasher()
# Verifying against this when the user does not exist costs the same time as a
# real check, so response times do not tell which user names exist.
_DUMMY_HASH = _HASHER.hash("no such user")


class UsersFileError(ProxyError, ValueError):
    """The users file cannot be read, or a login cannot go into it."""


def read_users(path: Path) -> dict[str, str]:
    """login (lower-cased) -> hash; a missing file means no users."""
    users: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return users
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        login, sep, hashed = line.strip().partition(":")
        if not sep or not login or not hashed.startswith("$argon2"):
            raise UsersFileError(
                f"{path}:{number}: expected 'login:$argon2...'; fix or remove that line "
                "(`sigrelay user add` writes valid ones)"
            )
        users[login.lower()] = hashed
    return users


def write_users(path: Path, users: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = "".join(f"{login}:{hashed}\n" for login, hashed in sorted(users.items()))
    # A name of its own: two `sigrelay user add` at once never share a temporary file.
    tmp_path = path.with_name(f".users-{secrets.token_hex(6)}")
    write_durably(path, lines.encode("utf-8"), tmp_path=tmp_path, mode=PRIVATE)


def add_user(path: Path, login: str, password: str) -> bool:
    """Add or replace; True if the user is new."""
    if ":" in login or not login.strip():
        raise UsersFileError(
            f"not a valid login: {login!r} (use the user's mail address; ':' is not allowed)"
        )
    users = read_users(path)
    new = login.lower() not in users
    users[login.lower()] = _HASHER.hash(password)
    write_users(path, users)
    return new


def remove_user(path: Path, login: str) -> bool:
    users = read_users(path)
    if users.pop(login.lower(), None) is None:
        return False
    write_users(path, users)
    return True


class UsersFile:
    """The AUTH backend over the file; re-read when its mtime changes."""

    def __init__(self, path: Path, concurrency: int = 2) -> None:
        self.path = path
        # argon2 takes 64 MiB a check: 40 clients authenticating at once must
        # not take the relay's memory with them (issue 14); the rest wait.
        self._slots = asyncio.Semaphore(concurrency)
        self._stamp: tuple[int, int] | None = None
        self._users: dict[str, str] = {}

    def _refresh(self) -> dict[str, str]:
        try:
            info = self.path.stat()
            stamp = (info.st_mtime_ns, info.st_size)
        except FileNotFoundError:
            stamp = None
        if stamp != self._stamp:
            self._users = read_users(self.path)
            self._stamp = stamp
        return self._users

    async def verify(self, login: str, password: str) -> Identity | None:
        hashed = self._refresh().get(login.lower())

        def check() -> bool:
            try:
                return _HASHER.verify(hashed or _DUMMY_HASH, password) and hashed is not None
            except (VerificationError, InvalidHashError):
                return False

        # argon2 costs tens of milliseconds of CPU: keep the event loop free.
        async with self._slots:
            accepted = await asyncio.to_thread(check)
        if accepted:
            return Identity(login=login, address=login.lower())
        return None
