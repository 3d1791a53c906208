"""Slowing down password guessing: failed AUTH attempts per client IP and per user.

Each failure within `window` seconds doubles the delay before the 535 answer
(base delay, 2x, 4x, ... capped at `max_delay`), so a guesser gets few tries
per minute; after `max_failures` failures of the IP or of the user, AUTH is
answered 454 (temporary, RFC 4954 6) without checking the password at all,
until the window has passed since the last failure. A success clears the
user's and the IP's record. The clock is a parameter, so tests need no sleeps.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0


@dataclass
class AuthThrottle:
    max_failures: int = 5
    window: float = 900.0
    base_delay: float = 1.0
    max_delay: float = 30.0
    clock: Callable[[], float] = time.monotonic
    _by_key: dict[str, _Failures] = field(default_factory=dict)

    def _current(self, key: str) -> _Failures | None:
        record = self._by_key.get(key)
        if record is not None and self.clock() - record.last > self.window:
            del self._by_key[key]
            return None
        return record

    def blocked(self, ip: str, user: str) -> bool:
        """True when this attempt must be refused without checking the password."""
        return any(
            (record := self._current(key)) is not None and record.count >= self.max_failures
            for key in (f"ip:{ip}", f"user:{user.lower()}")
        )

    def failed(self, ip: str, user: str) -> float:
        """Note a failure; the delay (seconds) to wait before answering it."""
        counts = []
        for key in (f"ip:{ip}", f"user:{user.lower()}"):
            record = self._current(key) or self._by_key.setdefault(key, _Failures())
            record.count += 1
            record.last = self.clock()
            counts.append(record.count)
        self._forget_stale()
        return min(self.base_delay * 2 ** (max(counts) - 1), self.max_delay)

    def succeeded(self, ip: str, user: str) -> None:
        self._by_key.pop(f"ip:{ip}", None)
        self._by_key.pop(f"user:{user.lower()}", None)

    def _forget_stale(self) -> None:
        # Bounded memory under a spray of random user names and addresses.
        if len(self._by_key) > 10_000:
            now = self.clock()
            for key in [k for k, r in self._by_key.items() if now - r.last > self.window]:
                del self._by_key[key]
