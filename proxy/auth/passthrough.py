"""Pass-through: the credentials are tried against the upstream's SMTP AUTH.

For companies on Microsoft 365 or Google Workspace, whose users already have
passwords there. A success is cached for `cache_seconds` under a keyed hash
of login and password (never the password itself), so a client sending many
messages does not log in upstream for each one; a failure is not cached.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import ssl
import time
from collections.abc import Callable

import aiosmtplib

from config.schema import UpstreamEndpoint
from proxy.auth import AuthUnavailable, Identity


class PassThrough:
    def __init__(
        self,
        endpoint: UpstreamEndpoint,
        *,
        local_hostname: str,
        cache_seconds: float = 300.0,
        tls_context: ssl.SSLContext | None = None,
        timeout: float = 20.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if endpoint.scheme not in ("smtp", "smtps"):
            raise ValueError("pass-through AUTH needs an smtp:// or smtps:// upstream")
        self.endpoint = endpoint
        self.local_hostname = local_hostname
        self.cache_seconds = cache_seconds
        self.tls_context = tls_context
        self.timeout = timeout
        self.clock = clock
        self._salt = os.urandom(32)  # per process: the cache keys mean nothing elsewhere
        self._cache: dict[bytes, float] = {}  # key -> expiry

    def _key(self, login: str, password: str) -> bytes:
        material = login.lower().encode() + b"\0" + password.encode()
        return hmac.new(self._salt, material, hashlib.sha256).digest()

    async def verify(self, login: str, password: str) -> Identity | None:
        key = self._key(login, password)
        now = self.clock()
        if self._cache.get(key, 0.0) > now:
            return Identity(login=login, address=login.lower())
        if not await self._upstream_accepts(login, password):
            return None
        self._cache = {k: t for k, t in self._cache.items() if t > now}
        self._cache[key] = now + self.cache_seconds
        return Identity(login=login, address=login.lower())

    async def _upstream_accepts(self, login: str, password: str) -> bool:
        implicit = self.endpoint.scheme == "smtps"
        client = aiosmtplib.SMTP(
            hostname=self.endpoint.host,
            port=self.endpoint.port,
            local_hostname=self.local_hostname,
            use_tls=implicit,
            start_tls=None if not implicit else False,  # STARTTLS whenever offered
            tls_context=self.tls_context,
            timeout=self.timeout,
        )
        try:
            await client.connect()
            await client.login(login, password)
            return True
        except aiosmtplib.SMTPAuthenticationError:
            return False
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise AuthUnavailable(f"upstream {self.endpoint.host}: {type(exc).__name__}") from None
        finally:
            if client.is_connected:
                try:
                    await client.quit()
                except (aiosmtplib.SMTPException, OSError):
                    client.close()
