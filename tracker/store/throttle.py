"""Throttles every node shares through the store: failed logins, one-time claims,
revoked dashboard sessions.

Why in the store: with several relay and tracker nodes on one PostgreSQL, a
guesser spreads attempts over the nodes behind the load balancer; counts kept
per process would let N nodes allow N times the attempts. SQLite (one node)
runs the same code.

What is counted: failures per key (`auth|pair|<ip>|<user>`, `login|ip|<ip>`,
...; the caller chooses). Keys are stored as SHA-256 hashes, so the table
holds no user names or addresses. A key's failures are forgotten `window`
seconds after its last one.

The policy (`ThrottleRule`) slows down rather than locks: a key with
`max_failures` failures is refused for `block_seconds`, doubled with every
further failure and capped at `window`, counted from its last failure; then
one more attempt is allowed. A refused attempt checks no password and counts
nothing, so an attacker who keeps trying cannot push the block further out.

When the store cannot answer, the throttle lets attempts through (and says so
in the log): mail submission and the dashboard must not stop because a
throttle table is out of reach.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from tracker.store.models import revoked_sessions, throttles
from tracker.store.store import Store

log = logging.getLogger("sigrelay.tracker.store.throttle")

# An unreachable store must not hold an SMTP AUTH or a login for the pool's 30 s.
STORE_TIMEOUT = 5.0
_DIALECTS = {"sqlite": sqlite, "postgresql": postgresql}


def _hashed(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


# --- the rows --------------------------------------------------------------------


async def failures_of(
    store: Store, keys: Iterable[str], now: float
) -> dict[str, tuple[int, float]]:
    """key -> (failures, time of the last one) for the keys with live failures."""
    by_hash = {_hashed(key): key for key in keys}
    query = select(throttles.c.key, throttles.c.failures, throttles.c.last_at).where(
        throttles.c.key.in_(list(by_hash)), throttles.c.expires_at > now
    )
    async with store.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return {by_hash[row.key]: (row.failures, row.last_at) for row in rows}


async def count_failure(store: Store, windows: Mapping[str, float], now: float) -> dict[str, int]:
    """One more failure for each key (kept `window` seconds); key -> its failures now."""
    counts: dict[str, int] = {}
    async with store.engine.begin() as conn:
        # Dead rows go with every write: the index makes it cheap, and the
        # table stays as small as the attempts of the last window.
        await conn.execute(delete(throttles).where(throttles.c.expires_at <= now))
        insert = _DIALECTS[conn.dialect.name].insert(throttles)
        for key, window in windows.items():
            row = {"key": _hashed(key), "failures": 1, "last_at": now, "expires_at": now + window}
            # One statement per key, so two nodes counting the same key at the
            # same moment both count (the row lock orders them).
            upsert = insert.values(row).on_conflict_do_update(
                index_elements=["key"],
                set_={
                    "failures": case(
                        (throttles.c.expires_at <= now, 1), else_=throttles.c.failures + 1
                    ),
                    "last_at": now,
                    "expires_at": now + window,
                },
            )
            result = await conn.execute(upsert.returning(throttles.c.failures))
            counts[key] = result.scalar_one()
    return counts


async def clear_failures(store: Store, keys: Iterable[str]) -> None:
    hashes = [_hashed(key) for key in keys]
    async with store.engine.begin() as conn:
        await conn.execute(delete(throttles).where(throttles.c.key.in_(hashes)))


async def claim_once(store: Store, key: str, now: float, lifetime: float) -> bool:
    """True for the first caller on any node within `lifetime` seconds, False after."""
    row = {"key": _hashed(key), "failures": 1, "last_at": now, "expires_at": now + lifetime}
    async with store.engine.begin() as conn:
        insert = _DIALECTS[conn.dialect.name].insert(throttles).values(row)
        # Updated (claimed again) only when the earlier claim has expired.
        upsert = insert.on_conflict_do_update(
            index_elements=["key"],
            set_={"last_at": now, "expires_at": now + lifetime},
            where=throttles.c.expires_at <= now,
        )
        result = await conn.execute(upsert.returning(throttles.c.key))
        return result.first() is not None


async def revoke_session(store: Store, nonce: str, expires_at: float, now: float) -> None:
    """The session `nonce` is ended on every node (until its cookie would expire anyway)."""
    async with store.engine.begin() as conn:
        insert = _DIALECTS[conn.dialect.name].insert(revoked_sessions)
        await conn.execute(
            insert.values(nonce=nonce, expires_at=expires_at).on_conflict_do_nothing(
                index_elements=["nonce"]
            )
        )
        await conn.execute(delete(revoked_sessions).where(revoked_sessions.c.expires_at < now))


async def session_revoked(store: Store, nonce: str) -> bool:
    query = select(revoked_sessions.c.nonce).where(revoked_sessions.c.nonce == nonce)
    async with store.engine.connect() as conn:
        return (await conn.execute(query)).first() is not None


def address_key(ip: str) -> str:
    """A client address as throttles count it: an IPv6 client by its /64, since
    one host owns a whole /64 and could take a new address for every attempt."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


# --- the policy ------------------------------------------------------------------


@dataclass(frozen=True)
class ThrottleRule:
    max_failures: int  # failures before attempts are refused for a while
    block_seconds: float  # the first refusal; doubled with every further failure
    window: float  # failures are forgotten this long after the last; caps the block

    def refused_for(self, failures: int, last_at: float, now: float) -> float:
        """Seconds until the next attempt is allowed (0: now)."""
        if failures < self.max_failures:
            return 0.0
        block = min(self.block_seconds * 2 ** min(failures - self.max_failures, 32), self.window)
        return max(0.0, last_at + block - now)


class Throttle:
    """Failures per key, counted in the store; each key with its own rule."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock  # wall time: every node must read the same times
        self._turns: dict[str, tuple[asyncio.Lock, int]] = {}  # key -> (lock, holders)

    @contextlib.asynccontextmanager
    async def one_at_a_time(self, key: str) -> AsyncIterator[None]:
        """Attempts of one client, in this process, one after another: checked,
        verified and counted in turn. Without it, 40 parallel guesses all pass
        the check before the first failure is counted."""
        lock, holders = self._turns.get(key, (asyncio.Lock(), 0))
        self._turns[key] = (lock, holders + 1)
        try:
            async with lock:
                yield
        finally:
            lock, holders = self._turns[key]
            if holders == 1:
                del self._turns[key]  # memory stays bounded by the clients at it now
            else:
                self._turns[key] = (lock, holders - 1)

    async def refused_for(self, rules: Mapping[str, ThrottleRule]) -> float:
        """Seconds until an attempt on all these keys is allowed (0: now)."""
        now = self.clock()
        try:
            found = await asyncio.wait_for(failures_of(self.store, rules, now), STORE_TIMEOUT)
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            log.warning("throttle not checked: store unreachable error=%s", type(exc).__name__)
            return 0.0
        return max(
            (rules[key].refused_for(count, last, now) for key, (count, last) in found.items()),
            default=0.0,
        )

    async def failed(self, rules: Mapping[str, ThrottleRule]) -> dict[str, int]:
        """Count a failure on every key; key -> its failures now (empty if not counted)."""
        windows = {key: rule.window for key, rule in rules.items()}
        try:
            return await asyncio.wait_for(
                count_failure(self.store, windows, self.clock()), STORE_TIMEOUT
            )
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            log.warning("throttle not counted: store unreachable error=%s", type(exc).__name__)
            return {}

    async def succeeded(self, keys: Iterable[str]) -> None:
        try:
            await asyncio.wait_for(clear_failures(self.store, list(keys)), STORE_TIMEOUT)
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            log.warning("throttle not cleared: store unreachable error=%s", type(exc).__name__)
