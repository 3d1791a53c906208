"""The stats rollup (per copy, per copy and day, per campaign, per campaign and
day, early events) always gives the figures of counting the events themselves."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tracker.store import CopyRecord, EventRecord, Store, stats
from tracker.store.models import early_day_counts, events
from tracker.store.queries import GROUPINGS, events_per, sent_per
from tracker.store.rollup import (
    CAMPAIGN_COUNTERS,
    COUNTERS,
    After,
    attribute,
    increments,
    rebuild,
)
from tracker.store.timing import TimingRules

SENT = datetime(2025, 6, 1, 9, tzinfo=UTC)
KINDS = ("impression", "open", "click", "optout", "visit", "link", "download")
VERDICTS = ("human", "proxy", "prefetch", "scanner")
NEVER_RECORDED = "ffffffffffffffff"  # e.g. an untracked copy's banner: the relay never records it


def _copies(count: int, seed: int = 7) -> list[CopyRecord]:
    rng = random.Random(seed)
    return [
        CopyRecord(
            copy_id=f"{seed:04x}{i:012x}",
            queue_id=f"q{i // 3}",
            sent_at=SENT + timedelta(hours=i),
            sender=rng.choice(["anna@example.com", "ben@example.com"]),
            group=rng.choice(["sales", "staff"]),
            privacy=rng.choice(["personal", "domain", "anonymous"]),
            campaign=rng.choice(["spring", "summer", None]),
            variant=rng.choice(["a", "b", None]),
            recipient=f"r{i}@{rng.choice(['x.test', 'y.test'])}",
            domain=rng.choice(["x.test", "y.test", None]),
            recipients=rng.choice([1, 1, 3]),
        )
        for i in range(count)
    ]


def _events(copies: list[CopyRecord], count: int, seed: int = 11) -> list[EventRecord]:
    rng = random.Random(seed)
    ids = [c.copy_id for c in copies] + [NEVER_RECORDED]
    # 11 minutes apart: the events fall on several UTC days.
    return [
        EventRecord(
            rng.choice(ids),
            rng.choice(KINDS),
            SENT + timedelta(minutes=11 * i),
            rng.choice(VERDICTS),
        )
        for i in range(count)
    ]


async def _fill(store: Store) -> None:
    """Batches of events, some for copies recorded only later (as when the
    relay's sent facts come after a scanner's first click)."""
    copies = _copies(30)
    await store.record_copies(copies[:20])
    batches = _events(copies, 400)
    for number, start in enumerate(range(0, len(batches), 37)):
        if number == 4:
            await store.record_copies(copies[20:])
        await store.record_events(batches[start : start + 37])


async def _from_events(store: Store, by: str | None, campaign: str | None) -> dict:
    """What Store.stats answers, counted from the copies and events themselves."""
    async with store.engine.connect() as conn:
        total = (await conn.execute(sent_per(None, campaign, store.dialect))).scalar_one()
        counts = (await conn.execute(events_per(None, campaign, store.dialect))).mappings().one()
        result = {"totals": stats.figures(total, counts), "rows": []}
        if by is not None:
            sent = await conn.execute(sent_per(by, campaign, store.dialect))
            per_key = await conn.execute(events_per(by, campaign, store.dialect))
            rows = stats.rows(
                by, {row.key: row.sent for row in sent}, {r["key"]: r for r in per_key.mappings()}
            )
            result["rows"] = [row for row in rows if _counts_something(row)]
    return result


def _counts_something(row: dict) -> bool:
    # By day, the events query also has days whose events all count nowhere.
    return any(isinstance(v, int) and v for k, v in row.items() if k != "day") or any(
        row["machine"].values()
    )


@pytest.mark.parametrize("by", [None, *GROUPINGS])
async def test_stats_give_the_figures_of_counting_the_events(store, by):
    await _fill(store)
    for campaign in (None, "spring", "summer"):
        from_rollup = await store.stats(by=by, campaign=campaign)
        assert from_rollup == await _from_events(store, by, campaign)
    totals = (await store.stats())["totals"]
    assert all(totals[name] for name in ("unique_clicks", "unique_visits", "downloads"))


async def test_events_recorded_before_their_copy_count_once_it_is_recorded(store):
    copy = _copies(1)[0]
    opened = SENT + timedelta(minutes=1)
    await store.record_events([EventRecord(copy.copy_id, "open", opened)])
    assert (await store.stats(campaign=copy.campaign))["totals"]["opens"] == 0
    await store.record_copies([copy])
    await store.record_events([EventRecord(copy.copy_id, "open", opened + timedelta(days=1))])
    for by in (None, "day", "variant"):
        result = await store.stats(by=by, campaign=copy.campaign)
        assert result == await _from_events(store, by, copy.campaign)
    totals = (await store.stats(campaign=copy.campaign))["totals"]
    assert (totals["opens"], totals["unique_opens"]) == (2, 1)
    async with store.engine.connect() as conn:
        early = (await conn.execute(select(func.count()).select_from(early_day_counts))).scalar()
    assert early == 1, "the first open waited in early_day_counts"


async def test_rebuild_gives_the_same_stats_as_the_writer(store):
    await _fill(store)
    before = {by: await store.stats(by=by, campaign="spring") for by in (None, *GROUPINGS)}
    async with store.engine.begin() as conn:
        await conn.run_sync(rebuild)
    after = {by: await store.stats(by=by, campaign="spring") for by in (None, *GROUPINGS)}
    assert after == before


def _without_reason(event: EventRecord) -> dict:
    """An event row as trackers before revision 0010 wrote it."""
    return {k: v for k, v in vars(event).items() if k != "reason"}


async def test_upgrade_fills_the_rollup_from_events_recorded_before_it(open_store):
    store = await open_store()
    await store.upgrade("0003")
    copies = _copies(10)
    await store.record_copies(copies[:8])
    async with store.engine.begin() as conn:  # as a tracker at revision 0003 did
        rows = [_without_reason(e) for e in _events(copies, 120)]
        await conn.execute(events.insert(), rows)
    await store.upgrade()
    await store.record_copies(copies[8:])  # their events, waiting since, count now
    for by in (None, *GROUPINGS):
        for campaign in (None, "spring"):
            assert await store.stats(by=by, campaign=campaign) == await _from_events(
                store, by, campaign
            )


async def test_upgrade_from_0005_adds_the_landing_events_so_far(open_store):
    store = await open_store()
    await store.upgrade("0005")
    copies = _copies(6)
    await store.record_copies(copies)
    landing = [EventRecord(c.copy_id, "visit", SENT + timedelta(hours=2)) for c in copies]
    landing += [EventRecord(copies[0].copy_id, "download", SENT + timedelta(days=1))]
    async with store.engine.begin() as conn:
        await conn.execute(events.insert(), [_without_reason(e) for e in landing])
    await store.upgrade()
    totals = (await store.stats())["totals"]
    assert (totals["visits"], totals["unique_visits"], totals["downloads"]) == (6, 6, 1)
    assert await store.stats(by="day") == await _from_events(store, "day", None)


async def test_stored_clicks_re_marked_as_a_scanners_move_to_the_machine_counters(store):
    store = Store(store.engine, timing=TimingRules())  # links clicked within a second: a scanner
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
    for by in (None, "day", "variant"):
        assert await store.stats(by=by) == await _from_events(store, by, None)
    by_day = (await store.stats(by="day", campaign=copy.campaign))["rows"]
    assert [(r["clicks"], r["unique_clicks"], r["machine"]["clicks"]) for r in by_day] == [
        (0, 0, 1),
        (0, 0, 1),
    ]
    assert (await store.stats(campaign=copy.campaign))["totals"]["unique_clicks"] == 0


async def test_concurrent_writers_and_late_sent_facts_still_sum_exactly(open_store):
    """Several tracker nodes write overlapping batches at once while the relay
    records the copies: on PostgreSQL the transactions really interleave."""
    stores = [await open_store() for _ in range(4)]
    await stores[0].upgrade()
    copies = _copies(12, seed=3)
    batches = _events(copies, 600, seed=5)
    chunks = [batches[i : i + 25] for i in range(0, len(batches), 25)]

    async def node(number: int) -> None:
        for chunk in chunks[number::3]:
            await stores[number].record_events(chunk)

    async def relay() -> None:
        for copy in copies:
            await stores[3].record_copies([copy])

    await asyncio.gather(node(0), node(1), node(2), relay())
    for by in (None, "day", "variant", "domain", "campaign"):
        assert await stores[0].stats(by=by) == await _from_events(stores[0], by, None)


def _after(copy_id: str, day: date, unique_counters: tuple[int, ...]) -> After:
    """The copy's UNIQUE_COUNTERS after the batch, the same on its one day."""
    return After({copy_id: unique_counters}, {(copy_id, day): unique_counters})


def test_a_unique_count_moves_when_a_copy_counter_crosses_zero():
    day = SENT.date()
    opened = [EventRecord("c1", "open", SENT), EventRecord("c1", "open", SENT)]
    per_copy = increments(opened, per_day=False)
    per_day = increments(opened, per_day=True)
    key = ("spring", "a", "sales")
    unique_opens = CAMPAIGN_COUNTERS.index("unique_opens")
    first, _, _ = attribute(per_copy, per_day, {"c1": key}, _after("c1", day, (0, 2, 0, 0, 0, 0)))
    assert first[key][COUNTERS.index("opens")] == 2 and first[key][unique_opens] == 1
    again, days, _ = attribute(
        per_copy, per_day, {"c1": key}, _after("c1", day, (0, 5, 0, 0, 0, 0))
    )
    assert again[key][unique_opens] == 0, "opened before: not a new unique open"
    assert days[("spring", day)][unique_opens] == 0


def test_a_withdrawn_click_takes_its_unique_click_back():
    click = EventRecord("c1", "click", SENT)
    remarked = EventRecord("c1", "click", SENT, "scanner")
    per_copy = increments([remarked], [click], per_day=False)
    per_day = increments([remarked], [click], per_day=True)
    key = ("spring", "a", "sales")
    after = _after("c1", SENT.date(), (0, 0, 0, 0, 0, 0))
    campaigns, _, _ = attribute(per_copy, per_day, {"c1": key}, after)
    row = dict(zip(CAMPAIGN_COUNTERS, campaigns[key], strict=True))
    assert (row["clicks"], row["unique_clicks"], row["machine_clicks"]) == (-1, -1, 1)


def test_events_of_a_copy_not_recorded_yet_wait_per_copy_and_day():
    opened = [EventRecord("c9", "open", SENT), EventRecord("c9", "visit", SENT + timedelta(days=1))]
    per_copy = increments(opened, per_day=False)
    per_day = increments(opened, per_day=True)
    after = After({"c9": (0, 1, 0, 1, 0, 0)}, {})
    campaigns, days, early = attribute(per_copy, per_day, {}, after)
    assert campaigns == {} and days == {}
    assert sorted(early) == [("c9", SENT.date()), ("c9", SENT.date() + timedelta(days=1))]
