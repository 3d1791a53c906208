"""Who may use the dashboard and the API: admin passwords, sessions, CSRF, API tokens.

- Passwords: argon2 hashes from `[[admins]]` (argon2-cffi); verified in a
  thread, since a verification costs tens of milliseconds of CPU by design.
- Sessions: a signed cookie `<name>.<issued>.<nonce>.<mac>` (HMAC-SHA256 with
  a key derived from the token signing key, so every tracker node that shares
  the keyring accepts it without a session table). It expires after
  SESSION_SECONDS; rotating the signing key logs everyone out.
- CSRF: a synchronizer token per session, HMAC(key, "csrf" + nonce), put into
  every form and checked on every POST (OWASP CSRF cheat sheet). It is tied to
  the session: a token from another session, or none, is refused.
- API tokens: compared by SHA-256 in constant time. Tokens are random and long,
  so a fast hash is enough (unlike passwords).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

SESSION_COOKIE = "sigrelay_session"
SESSION_SECONDS = 12 * 3600
_SESSION_KEY_LABEL = b"sigrelay admin session v1"
_FIELD = re.compile(r"^[A-Za-z0-9_-]+$")

_hasher = PasswordHasher()
# Verified when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def session_key(signing_key: bytes) -> bytes:
    """The session MAC key, derived (HMAC as a KDF) from a token signing key."""
    return hmac.new(signing_key, _SESSION_KEY_LABEL, hashlib.sha256).digest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def new_api_token() -> str:
    return "srt_" + secrets.token_urlsafe(32)


def hash_api_token(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Session:
    admin: str
    issued: int  # unix seconds
    nonce: str


class Sessions:
    """Issues and checks session cookies and the CSRF tokens that belong to them."""

    def __init__(self, key: bytes, lifetime: int = SESSION_SECONDS) -> None:
        self._key = key
        self._lifetime = lifetime

    def _mac(self, text: str) -> str:
        digest = hmac.new(self._key, text.encode("utf-8"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")

    def issue(self, admin: str, now: float | None = None) -> tuple[Session, str]:
        """A new session and its cookie value."""
        name = base64.urlsafe_b64encode(admin.encode("utf-8")).decode("ascii").rstrip("=")
        session = Session(
            admin, int(now if now is not None else time.time()), secrets.token_hex(16)
        )
        payload = f"{name}.{session.issued}.{session.nonce}"
        return session, f"{payload}.{self._mac(payload)}"

    def check(self, cookie: str | None, now: float | None = None) -> Session | None:
        """The session a cookie stands for, or None (absent, altered, expired)."""
        parts = (cookie or "").split(".")
        if len(parts) != 4 or not all(_FIELD.match(p) for p in parts):
            return None
        name, issued, nonce, mac = parts
        if not hmac.compare_digest(mac, self._mac(f"{name}.{issued}.{nonce}")):
            return None
        if not issued.isdigit():
            return None
        age = (now if now is not None else time.time()) - int(issued)
        if not 0 <= age < self._lifetime:
            return None
        admin = base64.urlsafe_b64decode(name + "=" * (-len(name) % 4)).decode("utf-8")
        return Session(admin, int(issued), nonce)

    def csrf_token(self, session: Session) -> str:
        return self._mac(f"csrf.{session.nonce}")

    def csrf_ok(self, session: Session, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token, self.csrf_token(session))


class Admins:
    """The `[[admins]]` of the configuration: name -> argon2 hash."""

    def __init__(self, hashes: Mapping[str, str]) -> None:
        self._hashes = dict(hashes)

    def __bool__(self) -> bool:
        return bool(self._hashes)

    def _verify(self, name: str, password: str) -> bool:
        stored = self._hashes.get(name)
        try:
            _hasher.verify(stored or _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return False
        return stored is not None

    async def verify(self, name: str, password: str) -> bool:
        return await asyncio.to_thread(self._verify, name, password)


class ApiTokens:
    """Bearer tokens: their SHA-256 hashes, each with the name it was configured under."""

    def __init__(self, hashes: Iterable[tuple[str, str]]) -> None:
        self._hashes = list(hashes)  # (name, "sha256:<hex>")

    def __bool__(self) -> bool:
        return bool(self._hashes)

    def name_of(self, authorization: str | None) -> str | None:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        presented = hash_api_token(token.strip())
        found = None
        for name, stored in self._hashes:  # no early exit: timing says nothing
            if hmac.compare_digest(presented, stored):
                found = name
        return found
