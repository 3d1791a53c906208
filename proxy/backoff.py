"""When to try a deferred copy again: exponential back-off with jitter.

Jitter spreads the retries of many copies deferred by the same upstream
outage, so they do not all hit the upstream in the same second when it comes
back. Pure: the random fraction is a parameter.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from proxy.state import CopyState
from proxy.upstream import Reply


@dataclass(frozen=True)
class RetryPolicy:
    initial: float = 60.0  # seconds before the first retry (Postfix: minimal_backoff_time 300s)
    factor: float = 2.0
    maximum: float = 3600.0  # never wait longer than this between attempts
    jitter: float = 0.2  # +- this fraction of the delay
    max_age: float = 5 * 24 * 3600.0  # then a temporary failure becomes permanent

    def delay(self, attempts: int, fraction: float | None = None) -> float:
        """Seconds to wait after the `attempts`-th failed attempt (1-based)."""
        base = min(self.maximum, self.initial * self.factor ** max(0, attempts - 1))
        fraction = random.random() if fraction is None else fraction
        return base * (1 + self.jitter * (2 * fraction - 1))

    @property
    def longest_delay(self) -> float:
        """No retry is ever further away than this (the maximum, jitter added)."""
        return self.maximum * (1 + self.jitter)

    def next_attempt(self, now: datetime, attempts: int, fraction: float | None = None) -> datetime:
        return now + timedelta(seconds=self.delay(attempts, fraction))

    def expired(self, received_at: datetime, now: datetime) -> bool:
        return (now - received_at).total_seconds() >= self.max_age


def apply_replies(
    copy: CopyState,
    replies: dict[str, Reply],
    *,
    policy: RetryPolicy,
    received_at: datetime,
    now: datetime,
) -> CopyState:
    """The copy after one attempt: who got it, who never will, when to try the rest."""
    delivered = tuple(r for r in copy.remaining if replies[r].ok)
    expired = policy.expired(received_at, now)
    failed = tuple(
        (r, str(reply))
        for r in copy.remaining
        if not (reply := replies[r]).ok and (reply.permanent or expired)
    )
    attempts = copy.attempts + 1
    temporary = [replies[r] for r in copy.remaining if not replies[r].ok and r not in dict(failed)]
    return replace(
        copy,
        delivered=copy.delivered + delivered,
        failed=copy.failed + failed,
        attempts=attempts,
        next_attempt=policy.next_attempt(now, attempts) if temporary else None,
        last_error=str(temporary[0]) if temporary else (failed[0][1] if failed else ""),
    )
