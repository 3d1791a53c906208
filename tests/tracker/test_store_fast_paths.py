"""The writer's fast paths give exactly what the reference paths give: the
stored text of a time, the times read back, a re-marked record, the rollup's
increments. A difference in any value fails."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import TypeDecorator, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import asyncpg

from tracker.store import CopyRecord, EventRecord, Store
from tracker.store.bulk import _processed_once_each
from tracker.store.models import (
    campaign_counts,
    campaign_day_counts,
    copy_counts,
    copy_day_counts,
    events,
)
from tracker.store.records import EVENT_KINDS, VERDICTS, with_verdict
from tracker.store.rollup import _rows, increments, rebuild, tally
from tracker.store.timing import TimingRules

SQLITE = sqlite.dialect()
POSTGRESQL = asyncpg.dialect()
ZONES = st.builds(
    lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-23 * 60, 23 * 60)
)
# Aware times in any zone, away from the ends of the calendar (where UTC would not fit).
AWARE = st.datetimes(
    min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=ZONES | st.just(UTC)
)


def _processors(dialect):
    """(fast, reference) bind and result processors of a UTCDateTime column."""
    column_type = events.c.at.type.dialect_impl(dialect)
    fast = column_type.bind_processor(dialect), column_type.result_processor(dialect, None)
    reference = (
        TypeDecorator.bind_processor(column_type, dialect),
        TypeDecorator.result_processor(column_type, dialect, None),
    )
    return fast, reference


def test_the_fast_processors_are_the_ones_in_use():
    (sqlite_bind, sqlite_result), _ = _processors(SQLITE)
    (postgresql_bind, _), _ = _processors(POSTGRESQL)
    assert sqlite_bind.__name__ == "_sqlite_text_of"
    assert sqlite_result.__name__ == "_utc_of_sqlite_text"
    assert postgresql_bind.__name__ == "_aware_utc"


@given(AWARE)
def test_a_time_is_stored_as_the_same_sqlite_text(value: datetime):
    (bind, _), (reference_bind, _) = _processors(SQLITE)
    assert bind(value) == reference_bind(value)


@given(AWARE)
def test_a_time_is_bound_as_the_same_postgresql_value(value: datetime):
    (bind, _), (reference_bind, _) = _processors(POSTGRESQL)
    bound = bind(value)
    assert bound == reference_bind(value)
    assert bound.tzinfo is UTC and bound.utcoffset() == timedelta(0)


@given(AWARE)
def test_stored_sqlite_text_reads_back_as_the_same_time(value: datetime):
    (bind, result), (_, reference_result) = _processors(SQLITE)
    text = bind(value)
    assert result(text) == reference_result(text) == value
    assert result(text).tzinfo is UTC


@pytest.mark.parametrize("dialect", [SQLITE, POSTGRESQL], ids=["sqlite", "postgresql"])
def test_none_and_naive_times_are_treated_alike(dialect):
    (bind, _), (reference_bind, _) = _processors(dialect)
    assert bind(None) is None and reference_bind(None) is None
    naive = datetime(2025, 6, 1, 9)
    for processor in (bind, reference_bind):
        with pytest.raises(ValueError, match="naive datetime"):
            processor(naive)


@pytest.mark.parametrize("text", ["2025-06-01 09:00:00", "2025-06-01 09:00:00.5", "2025-06-01"])
def test_sqlite_text_not_written_by_us_reads_back_alike(text: str):
    (_, result), (_, reference_result) = _processors(SQLITE)
    assert result(text) == reference_result(text)


def test_with_verdict_is_dataclasses_replace():
    record = EventRecord(
        "c1", "click", datetime(2025, 6, 1, tzinfo=UTC), "human", "https://x", None
    )
    changed = with_verdict(record, "scanner")
    assert changed == dataclasses.replace(record, verdict="scanner", reason="scanner")
    burst = with_verdict(record, "scanner", "scanner:burst")
    assert burst == dataclasses.replace(record, verdict="scanner", reason="scanner:burst")
    assert record.verdict == "human"  # the original is left as it was
    with pytest.raises(dataclasses.FrozenInstanceError):
        changed.verdict = "human"  # type: ignore[misc]


def _random_records(rng: random.Random, count: int) -> list[EventRecord]:
    start = datetime(2025, 6, 1, 22, tzinfo=UTC)
    zones = [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-7))]
    kinds = [*EVENT_KINDS, "visit", "link", "download", "unheard-of"]
    return [
        EventRecord(
            copy_id=f"c{rng.randrange(12)}",
            kind=rng.choice(kinds),
            at=(start + timedelta(minutes=rng.randrange(6 * 60))).astimezone(rng.choice(zones)),
            verdict=rng.choice([*VERDICTS, "odd"]),
        )
        for _ in range(count)
    ]


@pytest.mark.parametrize("seed", range(200))
def test_tally_is_increments_per_copy_and_per_day(seed: int):
    rng = random.Random(seed)
    records = _random_records(rng, rng.randrange(60))
    withdrawn = _random_records(rng, rng.randrange(10))
    per_copy, per_day = tally(records, withdrawn)
    expected_per_copy = increments(records, withdrawn, per_day=False)
    expected_per_day = increments(records, withdrawn, per_day=True)
    assert per_copy == expected_per_copy and list(per_copy) == list(expected_per_copy)
    assert per_day == expected_per_day and list(per_day) == list(expected_per_day)


@pytest.mark.parametrize("seed", range(50))
def test_rollup_rows_come_in_key_order_as_sorted_pairs_would(seed: int):
    rng = random.Random(seed)
    for per_key in tally(_random_records(rng, rng.randrange(80)), _random_records(rng, 5)):
        expected = [(*key, *counts) for key, counts in sorted(per_key.items()) if any(counts)]
        assert _rows(per_key) == expected


def test_repeated_days_are_bound_as_each_day_alone_would_be():
    day_type = copy_day_counts.c.day.type.dialect_impl(SQLITE)
    bind = day_type.bind_processor(SQLITE)
    rng = random.Random(5)
    days = [date(2025, 6, 1) + timedelta(days=rng.randrange(3)) for _ in range(500)]
    assert _processed_once_each(bind, days) == [bind(day) for day in days]


ROLLUP_TABLES = (copy_counts, copy_day_counts, campaign_counts, campaign_day_counts)


async def _rollup_rows(store: Store) -> dict[str, list[tuple]]:
    """Every rollup table's rows that count something, in key order."""
    async with store.engine.connect() as conn:
        tables = {}
        for table in ROLLUP_TABLES:
            keys = list(table.primary_key.columns)
            rows = (await conn.execute(select(table).order_by(*keys))).all()
            tables[table.name] = [tuple(row) for row in rows if any(row[len(keys) :])]
    return tables


async def test_the_writers_rollup_is_the_rollup_rebuilt_from_its_events(store: Store):
    # Batches of one kind leave most counters 0 in every row (sent to
    # PostgreSQL as empty arrays); mixed batches and timing rules do not.
    store = Store(store.engine, timing=TimingRules())
    rng = random.Random(3)
    sent = datetime(2025, 6, 1, 9, tzinfo=UTC)
    copies = [
        CopyRecord(
            f"{i:016x}",
            f"q{i}",
            sent,
            "a@x.test",
            "sales",
            "personal",
            rng.choice(["spring", None]),
            rng.choice(["a", None]),
            None,
            None,
        )
        for i in range(12)
    ]
    await store.record_copies(copies)
    kinds = ["open", "click", "impression", "visit", "optout"]
    for number in range(12):
        batch_kinds = [kinds[number % len(kinds)]] if number < 8 else kinds
        at = sent + timedelta(hours=5 * number)
        await store.record_events(
            [
                EventRecord(
                    rng.choice(copies).copy_id,
                    rng.choice(batch_kinds),
                    at + timedelta(seconds=rng.randrange(30)),
                    rng.choice(VERDICTS),
                    f"https://shop.test/{rng.randrange(3)}",
                )
                for _ in range(25)
            ]
        )
    written = await _rollup_rows(store)
    async with store.engine.begin() as conn:
        await conn.run_sync(rebuild)
    assert written == await _rollup_rows(store)
    assert all(written.values())
