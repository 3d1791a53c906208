"""The campaign page's reads (tracker/dashboard/reads.py) on SQLite and
PostgreSQL: events per UTC hour, the first copy's time, copies per variant."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from dashboardsite import NOW, copy, event

from peers import fresh_postgres_database
from tracker.dashboard.reads import campaign_start, copies_per_variant, events_per_hour
from tracker.store import EventRecord, Store

START = NOW - timedelta(hours=10, minutes=20)


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "sqlite":
        store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
        await store.upgrade()
        yield store
        await store.close()
        return
    async with fresh_postgres_database() as url:
        store = await Store.open(url)
        await store.upgrade()
        yield store
        await store.close()


async def _record(store: Store) -> None:
    await store.record_copies(
        [copy(n, campaign="fresh", variant="a" if n < 3 else "b", sent_at=START) for n in range(5)]
        + [copy(9, campaign="fresh", variant="b", sent_at=START + timedelta(hours=1), recipients=6)]
        + [copy(20, campaign="other", sent_at=START - timedelta(days=3))]
    )
    at = START + timedelta(minutes=30)  # 02:10 UTC (START is 01:40)
    await store.record_events(
        [
            EventRecord(f"{0:016x}", "impression", at),
            EventRecord(f"{1:016x}", "impression", at + timedelta(hours=1)),
            EventRecord(f"{1:016x}", "click", at + timedelta(minutes=61), target="https://x.test/"),
            EventRecord(f"{2:016x}", "open", at, verdict="prefetch"),  # a machine's: not counted
            EventRecord(f"{3:016x}", "visit", at + timedelta(hours=3)),
            event(20, "impression", days_ago=0),  # another campaign
        ]
    )


async def test_events_are_counted_per_utc_hour(store):
    await _record(store)
    per_hour = await events_per_hour(store, "fresh", START, START + timedelta(hours=48))
    assert per_hour == {
        "2025-03-10 02": {"impressions": 1, "opens": 0, "clicks": 0, "visits": 0},
        "2025-03-10 03": {"impressions": 1, "opens": 0, "clicks": 1, "visits": 0},
        "2025-03-10 05": {"impressions": 0, "opens": 0, "clicks": 0, "visits": 1},
    }


async def test_events_outside_the_window_are_left_out(store):
    await _record(store)
    per_hour = await events_per_hour(store, "fresh", START, START + timedelta(hours=1))
    assert list(per_hour) == ["2025-03-10 02"]


async def test_campaign_starts_with_its_first_copy(store):
    await _record(store)
    assert await campaign_start(store, "fresh") == START
    assert await campaign_start(store, "nothing sent") is None


async def test_copies_and_recipients_per_variant(store):
    await _record(store)
    got = {(v.variant, v.copies, v.recipients) for v in await copies_per_variant(store, "fresh")}
    assert got == {("a", 3, 3), ("b", 3, 8)}
