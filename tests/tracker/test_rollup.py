"""The stats rollup (copy_counts, copy_day_counts) always agrees with counting the events."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest

from tracker.store import CopyRecord, EventRecord, stats
from tracker.store.models import events
from tracker.store.queries import GROUPINGS, events_per
from tracker.store.rollup import counts_per
from tracker.store.timing import TimingRules

SENT = datetime(2025, 6, 1, 9, tzinfo=UTC)
KINDS = ("impression", "open", "click", "optout")
VERDICTS = ("human", "proxy", "prefetch", "scanner")


def _copies(count: int) -> list[CopyRecord]:
    rng = random.Random(7)
    return [
        CopyRecord(
            copy_id=f"{i:016x}",
            queue_id=f"q{i // 3}",
            sent_at=SENT + timedelta(hours=i),
            sender=rng.choice(["anna@example.com", "ben@example.com"]),
            group=rng.choice(["sales", "staff"]),
            privacy="personal",
            campaign=rng.choice(["spring", "summer", None]),
            variant=rng.choice(["a", "b"]),
            recipient=f"r{i}@{rng.choice(['x.test', 'y.test'])}",
            domain=rng.choice(["x.test", "y.test"]),
        )
        for i in range(count)
    ]


def _events(copies: list[CopyRecord], count: int) -> list[EventRecord]:
    rng = random.Random(11)
    ids = [c.copy_id for c in copies] + ["ffffffffffffffff"]  # one copy the store never saw
    return [
        EventRecord(
            rng.choice(ids), rng.choice(KINDS), SENT + timedelta(minutes=i), rng.choice(VERDICTS)
        )
        for i in range(count)
    ]


async def _fill(store) -> None:
    copies = _copies(30)
    await store.record_copies(copies)
    events = _events(copies, 400)
    for start in range(0, len(events), 37):  # many batches, some copies in several
        await store.record_events(events[start : start + 37])


async def _figures(store, query) -> dict:
    async with store.engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    # By day the rollup's key is a date, the events query's its ISO text.
    return {_key(row.get("key")): stats.figures(0, row) for row in rows}


def _key(key: object) -> object:
    return key.isoformat() if isinstance(key, date) else key


@pytest.mark.parametrize("by", [None, *GROUPINGS])
async def test_rollup_gives_the_same_figures_as_counting_events(store, by):
    await _fill(store)
    for campaign in (None, "spring"):
        from_events = await _figures(store, events_per(by, campaign, store.dialect))
        from_rollup = await _figures(store, counts_per(by, campaign))
        assert from_rollup == from_events
        assert any(f["clicks"] for f in from_rollup.values()), "the data exercises clicks"


async def test_upgrade_fills_the_rollup_from_events_recorded_before_it(open_store):
    store = await open_store()
    await store.upgrade("0003")
    copies = _copies(10)
    await store.record_copies(copies)
    async with store.engine.begin() as conn:  # as a tracker at revision 0003 did
        rows = [dict(vars(e)) for e in _events(copies, 60)]
        await conn.execute(events.insert(), rows)
    await store.upgrade()
    for by in (None, "day"):
        from_events = await _figures(store, events_per(by, None, store.dialect))
        assert await _figures(store, counts_per(by, None)) == from_events


async def test_stored_clicks_re_marked_as_a_scanners_move_to_the_machine_counters(store):
    store.timing = TimingRules()  # links clicked within a second: a scanner
    copy = _copies(1)[0]
    await store.record_copies([copy])
    before_midnight = datetime(2025, 6, 1, 23, 59, 59, 800_000, tzinfo=UTC)
    first = EventRecord(copy.copy_id, "click", before_midnight, "human", "https://a.test/")
    second = EventRecord(
        copy.copy_id,
        "click",
        before_midnight + timedelta(milliseconds=400),
        "human",
        "https://b.test/",
    )
    await store.record_events([first])
    await store.record_events([second])  # the burst reaches back to the stored click
    for by in (None, "day"):
        from_rollup = await _figures(store, counts_per(by, None))
        assert from_rollup == await _figures(store, events_per(by, None, store.dialect))
    by_day = await _figures(store, counts_per("day", None))
    assert [(f["clicks"], f["machine"]["clicks"]) for f in by_day.values()] == [(0, 1), (0, 1)]
