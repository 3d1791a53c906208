"""Throttles shared through the store (issue 14, findings 5 and 6): counted by
every node on the same database, slowing down rather than locking out.
Every test runs on SQLite and PostgreSQL; time is an injected clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sqlalchemy import func, select

from tracker.store import Store
from tracker.store.models import throttles
from tracker.store.throttle import Throttle, ThrottleRule, claim_once

RULE = ThrottleRule(max_failures=3, block_seconds=60, window=900)
KEY = "login|ip|192.0.2.7"


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_attempts_are_refused_after_the_limit_then_allowed_again(store: Store):
    clock = Clock()
    throttle = Throttle(store, clock)
    for _ in range(3):
        assert await throttle.refused_for({KEY: RULE}) == 0
        await throttle.failed({KEY: RULE})
    assert await throttle.refused_for({KEY: RULE}) == 60
    clock.now += 59
    assert await throttle.refused_for({KEY: RULE}) == 1
    clock.now += 1
    assert await throttle.refused_for({KEY: RULE}) == 0  # slowed down, not locked


async def test_every_further_failure_doubles_the_block_up_to_the_window(store: Store):
    clock = Clock()
    throttle = Throttle(store, clock)
    blocks = []
    for _ in range(8):
        await throttle.failed({KEY: RULE})
        blocks.append(await throttle.refused_for({KEY: RULE}))
    assert blocks == [0, 0, 60, 120, 240, 480, 900, 900]


async def test_failures_are_forgotten_after_the_window(store: Store):
    clock = Clock()
    throttle = Throttle(store, clock)
    for _ in range(3):
        await throttle.failed({KEY: RULE})
    clock.now += 901
    assert await throttle.refused_for({KEY: RULE}) == 0
    assert await throttle.failed({KEY: RULE}) == {KEY: 1}  # counting starts again


async def test_a_success_clears_only_its_keys(store: Store):
    throttle = Throttle(store, Clock())
    other = "login|name|admin"
    for _ in range(3):
        await throttle.failed({KEY: RULE, other: RULE})
    await throttle.succeeded([other])
    assert await throttle.refused_for({other: RULE}) == 0
    assert await throttle.refused_for({KEY: RULE}) > 0


async def test_two_nodes_on_one_store_count_together(open_store: Callable):
    # Issue 14, finding 6: each process counted alone, so N nodes allowed N times the attempts.
    node_a, node_b = await open_store(), await open_store()
    await node_a.upgrade()
    clock = Clock()
    on_a, on_b = Throttle(node_a, clock), Throttle(node_b, clock)
    await on_a.failed({KEY: RULE})
    await on_b.failed({KEY: RULE})
    assert await on_b.refused_for({KEY: RULE}) == 0
    await on_a.failed({KEY: RULE})
    assert await on_b.refused_for({KEY: RULE}) == 60


async def test_simultaneous_failures_are_all_counted(store: Store):
    throttle = Throttle(store, Clock())
    await asyncio.gather(*(throttle.failed({KEY: RULE}) for _ in range(10)))
    assert await throttle.failed({KEY: RULE}) == {KEY: 11}


async def test_the_table_keeps_hashes_not_names_and_drops_dead_rows(store: Store):
    clock = Clock()
    throttle = Throttle(store, clock)
    await throttle.failed({"auth|pair|192.0.2.7|ceo@bank.test": RULE})
    async with store.engine.connect() as conn:
        (key,) = (await conn.execute(select(throttles.c.key))).scalars()
    assert "ceo" not in key and len(key) == 64
    clock.now += 901
    await throttle.failed({KEY: RULE})
    async with store.engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(throttles))).scalar() == 1


async def test_a_claim_is_granted_once_per_lifetime_across_nodes(open_store: Callable):
    node_a, node_b = await open_store(), await open_store()
    await node_a.upgrade()
    now = 1_000_000.0
    assert await claim_once(node_a, "notify|c1|2026-12-07", now, 86400)
    assert not await claim_once(node_b, "notify|c1|2026-12-07", now + 10, 86400)
    assert await claim_once(node_b, "notify|c1|2026-12-07", now + 86401, 86400)


async def test_an_unreachable_store_lets_attempts_through(store: Store):
    throttle = Throttle(store, Clock())
    for _ in range(3):
        await throttle.failed({KEY: RULE})
    await store.downgrade()  # the table is gone: every query fails
    assert await throttle.refused_for({KEY: RULE}) == 0
    assert await throttle.failed({KEY: RULE}) == {}
