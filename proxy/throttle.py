"""Slowing down password guessing at SMTP AUTH, per (client IP, user) and per IP.

Why not per user alone: five failures for a user from one address locked
that user out from every address, so anyone could lock out the CEO by
guessing. Now failures count per (client IP, user), and per client IP over
all users (one address spraying many users); IPv6 clients count per /64,
since one host owns a whole /64. Nobody else's failures touch a user who
logs in from elsewhere.

Slow down, do not lock: every failure waits `base_delay` (doubled per failure
of the pair, at most `max_delay`) before its 535; after `max_failures` of the
pair (or `max_failures_per_ip` of the address) attempts are answered 454
(temporary, RFC 4954 6) without checking the password, for `block_seconds`,
doubled per further failure (tracker/store/throttle.py). A success clears the
pair. The counts live in the store, so every relay node sharing it counts
every attempt.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from tracker.store.throttle import Throttle, ThrottleRule, address_key


@dataclass(frozen=True)
class AuthLimits:
    max_failures: int = 5  # per (client IP, user)
    max_failures_per_ip: int = 20  # per client IP, all users together
    block_seconds: float = 60.0
    window: float = 900.0
    base_delay: float = 1.0
    max_delay: float = 30.0


class AuthThrottle:
    def __init__(self, throttle: Throttle, limits: AuthLimits = AuthLimits()) -> None:
        self.throttle = throttle
        self.limits = limits
        self._pair = ThrottleRule(limits.max_failures, limits.block_seconds, limits.window)
        self._ip = ThrottleRule(limits.max_failures_per_ip, limits.block_seconds, limits.window)

    def _rules(self, ip: str, user: str) -> dict[str, ThrottleRule]:
        address = address_key(ip)
        return {f"auth|pair|{address}|{user.lower()}": self._pair, f"auth|ip|{address}": self._ip}

    def one_at_a_time(self, ip: str) -> contextlib.AbstractAsyncContextManager[None]:
        """Hold while checking, verifying and counting one attempt of this client IP."""
        return self.throttle.one_at_a_time(f"auth|{address_key(ip)}")

    async def refused_for(self, ip: str, user: str) -> float:
        """Seconds this client must wait before AUTH as `user` is checked again (0: now)."""
        return await self.throttle.refused_for(self._rules(ip, user))

    async def failed(self, ip: str, user: str) -> float:
        """Count a failure; the delay (seconds) to wait before answering it."""
        rules = self._rules(ip, user)
        counts = await self.throttle.failed(rules)
        failures = counts.get(next(iter(rules)), 1)  # the pair's: an office's IP count is not hers
        return min(self.limits.base_delay * 2 ** min(failures - 1, 32), self.limits.max_delay)

    async def succeeded(self, ip: str, user: str) -> None:
        pair = next(iter(self._rules(ip, user)))
        await self.throttle.succeeded([pair])
