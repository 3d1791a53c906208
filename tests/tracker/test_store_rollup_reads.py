"""The campaign page's figures come from the campaign rollups, never from the
events or a scan of the campaign's copies (issue 16: the page at 10 M events;
the timings are bench/stats.py's), and "sent" in those rollups, kept by a
trigger on `copies`, is what counting the copies gives."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import event, func, select, text

from tracker.dashboard.reads import copies_per_variant, events_page_query, walks_events
from tracker.store import CopyRecord, EventRecord, Store
from tracker.store.models import copies
from tracker.store.queries import sent_per
from tracker.store.reasons import reason_counts, reasons_from_events

SENT = datetime(2025, 6, 1, 22, tzinfo=UTC)  # two hours before midnight: sent on two days
PAGE_GROUPINGS = (None, "day", "variant", "group", "domain")  # tracker/dashboard/views.py


def _copies(count: int, seed: int) -> list[CopyRecord]:
    rng = random.Random(seed)
    return [
        CopyRecord(
            copy_id=f"{seed:04x}{i:012x}",
            queue_id=f"q{i}",
            sent_at=SENT + timedelta(minutes=7 * i),
            sender="ann@corp.example",
            group=rng.choice(["sales", "staff"]),
            privacy="personal",
            campaign=rng.choice(["spring", "summer", None]),
            variant=rng.choice(["a", "b", None]),
            recipient=f"r{i}@d{i % 5}.test",
            domain=rng.choice([f"d{i % 5}.test", None]),
            recipients=rng.choice([0, 1, 1, 4]),
        )
        for i in range(count)
    ]


async def _sent_counted_from_copies(store: Store, by: str | None, campaign: str | None) -> dict:
    async with store.engine.connect() as conn:
        if by is None:
            return {None: (await conn.execute(sent_per(None, campaign, store.dialect))).scalar()}
        rows = await conn.execute(sent_per(by, campaign, store.dialect))
        return {row.key: row.sent for row in rows}


def _sent_in_stats(result: dict, by: str | None) -> dict:
    if by is None:
        return {None: result["totals"]["sent"]}
    return {row[by]: row["sent"] for row in result["rows"] if row["sent"] or by != "day"}


async def test_sent_is_each_copy_once_however_often_and_however_it_is_recorded(store: Store):
    records = _copies(40, seed=5)
    await store.record_copies(records[:25])
    await store.record_copies(records[10:])  # the relay retrying: 15 copies again
    async with store.engine.begin() as conn:  # one statement, as a bulk load would
        await conn.execute(copies.insert(), [vars(c) for c in _copies(10, seed=6)])
    for campaign in (None, "spring"):
        for by in PAGE_GROUPINGS:
            result = await store.stats(by=by, campaign=campaign)
            expected = await _sent_counted_from_copies(store, by, campaign)
            if by == "day":
                expected = {day: sent for day, sent in expected.items() if sent}
            assert _sent_in_stats(result, by) == expected, (by, campaign)
    for campaign in ("spring", "summer", "none-such"):
        counted = (
            select(copies.c.variant, func.count(), func.sum(copies.c.recipients))
            .where(copies.c.campaign == campaign)
            .group_by(copies.c.variant)
        )
        async with store.engine.connect() as conn:
            expected = {variant: (n, r) for variant, n, r in await conn.execute(counted)}
        found = await copies_per_variant(store, campaign)
        assert {v.variant: (v.copies, v.recipients) for v in found} == expected


async def test_the_reasons_rollup_is_what_counting_the_events_gives(store: Store):
    records = _copies(30, seed=9)
    await store.record_copies(records)
    rng = random.Random(4)
    reasons = ["human", "proxy:gmail", "prefetch:apple", "scanner:agent", "scanner:head"]
    batch = []
    for i in range(300):
        reason = rng.choice(reasons)
        kind = rng.choice(["impression", "open", "click", "visit"])
        at = SENT + timedelta(minutes=13 * i)
        verdict = reason.partition(":")[0]
        batch.append(EventRecord(rng.choice(records).copy_id, kind, at, verdict, reason=reason))
    for start in range(0, len(batch), 50):
        await store.record_events(batch[start : start + 50])
    for campaign in (None, "spring", "summer"):
        from_rollup = await reason_counts(store, campaign)
        assert from_rollup == await reasons_from_events(store, campaign)
    assert len({row["reason"] for row in await reason_counts(store)}) == len(reasons)


async def _statements_of_the_page(store: Store) -> list[str]:
    """Every SQL statement the campaign page's figures run (not its list of latest events)."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    event.listen(store.engine.sync_engine, "before_cursor_execute", record)
    try:
        for by in PAGE_GROUPINGS:
            await store.stats(by=by, campaign="spring")
        await reason_counts(store, "spring")
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", record)
    return seen


async def test_the_campaign_page_reads_neither_events_nor_the_campaigns_copies(store: Store):
    records = _copies(200, seed=3)
    await store.record_copies(records)
    events_ = [EventRecord(c.copy_id, "open", SENT + timedelta(hours=1)) for c in records]
    # No early events, as in most stores: SQLite then knows no size of early_day_counts
    # and, asked to, would look them up for each of the campaign's copies.
    await store.record_events(events_)
    statements = await _statements_of_the_page(store)
    assert statements, "the listener saw the page's statements"
    for statement in statements:
        assert "FROM events" not in statement and "JOIN events" not in statement, statement
        assert "count(DISTINCT" not in statement, statement
    if store.dialect != "sqlite":
        return  # PostgreSQL picks plans by table sizes: a test's tiny tables say nothing
    async with store.engine.connect() as conn:
        await conn.execute(text("ANALYZE"))
        for statement in statements:
            # Parameters do not change SQLite's plan: NULL stands in for each.
            width = statement.count("?")
            plan = await conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, (None,) * width if width else ()
            )
            for line in (row[-1] for row in plan):
                # Copies are only looked up one by one, for events that came before them.
                if " copies" in line:
                    assert "SEARCH copies" in line and "(copy_id=?)" in line, (line, statement)
        copies_count = (await conn.execute(select(func.count()).select_from(copies))).scalar()
    assert copies_count == 200


async def test_the_latest_events_of_a_campaign_are_the_same_read_either_way(store: Store):
    records = _copies(60, seed=8)
    await store.record_copies(records)
    rng = random.Random(6)
    batch = [
        EventRecord(rng.choice(records).copy_id, "open", SENT + timedelta(minutes=i))
        for i in range(400)
    ]
    await store.record_events(batch + [EventRecord("ffffffffffffffff", "click", SENT)])
    async with store.engine.connect() as conn:
        for campaign in ("spring", "summer", "none-such"):
            for before in (None, 200):
                found = [
                    (await conn.execute(events_page_query(before, 25, campaign, walk_events=walk)))
                    .mappings()
                    .all()
                    for walk in (False, True)
                ]
                assert found[0] == found[1], (campaign, before)
                assert campaign == "none-such" or len(found[0]) == 26
        # The rollup's counts decide: a campaign with most of the events is walked to.
        assert await walks_events(conn, "spring", 5) != await walks_events(conn, "none-such", 5)
