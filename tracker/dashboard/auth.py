"""Who may use the dashboard and the API: admin passwords, sessions, CSRF, API tokens.

- Passwords: argon2 hashes from `[[admins]]` (argon2-cffi); verified in a
  thread, since a verification costs tens of milliseconds of CPU by design,
  and at most `concurrency` at a time: each takes argon2's 64 MiB, so 40
  parallel logins took the tracker from 100 to 490 MB (issue 14).
- Login throttle: failures per client IP and per admin name, counted in the
  store (every tracker node sees them); beyond the limit a login is answered
  429 with Retry-After, for a time that doubles per further failure. Never a
  permanent lock (tracker/store/throttle.py).
- Sessions: a signed cookie `<name>.<issued>.<nonce>.<mac>` (HMAC-SHA256 with
  a key derived from the token signing key, so every tracker node that shares
  the keyring accepts it). It expires after SESSION_SECONDS; rotating the
  signing key logs everyone out; logout puts its nonce in the store's
  `revoked_sessions`, so a copied cookie stops working on every node.
- CSRF: a synchronizer token per session, HMAC(key, "csrf" + nonce), put into
  every form and checked on every POST (OWASP CSRF cheat sheet). It is tied to
  the session: a token from another session, or none, is refused.
- API tokens: compared by SHA-256 in constant time. Tokens are random and long,
  so a fast hash is enough (unlike passwords).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from tracker.store.throttle import Throttle, ThrottleRule, address_key

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

    def __init__(self, hashes: Mapping[str, str], concurrency: int = 2) -> None:
        self._hashes = dict(hashes)
        # Bounds argon2's memory (64 MiB a verification): more logins wait their turn.
        self._slots = asyncio.Semaphore(concurrency)

    def with_hashes(self, hashes: Mapping[str, str]) -> Admins:
        """The admins of a reloaded config, sharing this one's verification slots
        (the memory bound holds across reloads)."""
        admins = Admins(hashes)
        admins._slots = self._slots
        return admins

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
        async with self._slots:
            return await asyncio.to_thread(self._verify, name, password)


@dataclass(frozen=True)
class LoginLimits:
    max_failures: int = 5  # per client IP; per admin name twice that
    block_seconds: float = 60.0  # doubled per further failure
    window: float = 900.0  # failures forgotten this long after the last


class LoginThrottle:
    """Dashboard login failures per client IP and per admin name (shared by every node).

    The name's limit is twice the address's: one address guessing is stopped
    first, and many addresses guessing one name are stopped too, while the
    admin, from her own address, waits at most the block."""

    def __init__(self, throttle: Throttle, limits: LoginLimits = LoginLimits()) -> None:
        self.throttle = throttle
        self._ip = ThrottleRule(limits.max_failures, limits.block_seconds, limits.window)
        self._name = ThrottleRule(2 * limits.max_failures, limits.block_seconds, limits.window)

    def _rules(self, ip: str, name: str) -> dict[str, ThrottleRule]:
        return {f"login|ip|{address_key(ip)}": self._ip, f"login|name|{name}": self._name}

    def one_at_a_time(self, ip: str) -> contextlib.AbstractAsyncContextManager[None]:
        """Hold while checking, verifying and counting one login of this client IP."""
        return self.throttle.one_at_a_time(f"login|{address_key(ip)}")

    async def refused_for(self, ip: str, name: str) -> float:
        return await self.throttle.refused_for(self._rules(ip, name))

    async def failed(self, ip: str, name: str) -> None:
        await self.throttle.failed(self._rules(ip, name))

    async def succeeded(self, ip: str, name: str) -> None:
        await self.throttle.succeeded(self._rules(ip, name))


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
