"""Timing rules, applied as events are written: clicks no person makes are scanner clicks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tracker.store import CopyRecord, EventRecord, Store, timing
from tracker.store.models import events
from tracker.store.timing import TimingRules

SENT = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
COPY = CopyRecord(
    "00000000000000c1", "q", SENT, "ann@corp.example", "sales", "personal", None, None,
    "kim@customer.test", "customer.test",
)  # fmt: skip


def click(after: timedelta, target: str = "https://shop.example/a", verdict: str = "human"):
    return EventRecord(COPY.copy_id, "click", SENT + after, verdict, target)


async def verdicts(store: Store) -> list[str]:
    async with store.engine.connect() as conn:
        return list((await conn.execute(select(events.c.verdict).order_by(events.c.id))).scalars())


async def timed(store: Store) -> Store:
    store = Store(store.engine, timing=TimingRules())  # 10 s after sending, 1 s bursts
    await store.record_copies([COPY])
    return store


async def test_a_click_seconds_after_sending_is_a_scanner(store: Store):
    store = await timed(store)
    await store.record_events([click(timedelta(seconds=3))])
    assert await verdicts(store) == ["scanner"]


async def test_a_click_minutes_after_sending_is_a_person(store: Store):
    store = await timed(store)
    await store.record_events([click(timedelta(minutes=3))])
    assert await verdicts(store) == ["human"]


async def test_different_links_clicked_within_a_second_are_all_scanner_clicks(store: Store):
    start = timedelta(hours=1)
    burst = [click(start), click(start + timedelta(milliseconds=300), "https://shop.example/b")]
    store = await timed(store)
    await store.record_events(burst)
    assert await verdicts(store) == ["scanner", "scanner"]


async def test_a_burst_reaching_back_into_an_earlier_batch_marks_the_stored_click(store: Store):
    start = timedelta(hours=1)
    store = await timed(store)
    await store.record_events([click(start)])
    assert await verdicts(store) == ["human"]
    await store.record_events(
        [click(start + timedelta(milliseconds=500), "https://shop.example/b")]
    )
    assert await verdicts(store) == ["scanner", "scanner"]


async def test_the_same_link_clicked_twice_quickly_is_a_person_double_clicking(store: Store):
    start = timedelta(hours=1)
    store = await timed(store)
    await store.record_events([click(start), click(start + timedelta(milliseconds=200))])
    assert await verdicts(store) == ["human", "human"]


async def test_different_links_seconds_apart_are_a_person_reading(store: Store):
    start = timedelta(hours=1)
    store = await timed(store)
    await store.record_events(
        [click(start), click(start + timedelta(seconds=20), "https://shop.example/b")]
    )
    assert await verdicts(store) == ["human", "human"]


async def test_a_click_of_a_copy_the_store_has_not_seen_is_left_as_it_is(store: Store):
    store = Store(store.engine, timing=TimingRules())
    await store.record_events([click(timedelta(seconds=1))])
    assert await verdicts(store) == ["human"]


async def test_zero_turns_the_rules_off(store: Store):
    store = await timed(store)
    await store.record_copies([])
    store = Store(store.engine, timing=TimingRules.of_seconds(0, 0))
    start = timedelta(seconds=1)
    await store.record_events([click(start), click(start, "https://shop.example/b")])
    assert await verdicts(store) == ["human", "human"]


@pytest.mark.parametrize("copies_per_query", [8000, 1])
async def test_a_stored_click_joins_a_burst_only_with_a_click_on_another_link(
    store: Store, monkeypatch: pytest.MonkeyPatch, copies_per_query: int
):
    # Only stored clicks that could pair are read (on another link than all
    # of the copy's clicks in the batch); the result is what reading all gives.
    monkeypatch.setattr(timing, "_COPIES_PER_QUERY", copies_per_query)
    other = CopyRecord(
        "00000000000000c2", "q", SENT, "ann@corp.example", "sales", "personal", None, None,
        "lee@customer.test", "customer.test",
    )  # fmt: skip
    store = await timed(store)
    await store.record_copies([other])
    start = timedelta(hours=1)
    later = start + timedelta(milliseconds=300)
    again = EventRecord(other.copy_id, "click", SENT + start, "human", "https://shop.example/a")
    await store.record_events([click(start), again])
    elsewhere = EventRecord(other.copy_id, "click", SENT + later, "human", "https://shop.example/b")
    await store.record_events([click(later), elsewhere])
    async with store.engine.connect() as conn:
        rows = await conn.execute(select(events.c.copy_id, events.c.verdict).order_by(events.c.id))
        by_copy = [(copy_id[-2:], verdict) for copy_id, verdict in rows]
    assert by_copy == [
        ("c1", "human"),  # the same link twice: a person
        ("c2", "scanner"),  # a and b within 300 ms: a burst, reaching back
        ("c1", "human"),
        ("c2", "scanner"),
    ]
