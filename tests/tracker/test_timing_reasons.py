"""The timing rules' reasons (scanner:early, scanner:burst), and a burst whose
clicks two tracker nodes write, each to the one shared store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tracker.store import CopyRecord, EventRecord, Store
from tracker.store.models import events
from tracker.store.timing import TimingRules, reclassify

SENT = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
COPY = CopyRecord(
    "00000000000000d1", "q", SENT, "ann@corp.example", "sales", "personal", None, None,
    "kim@customer.test", "customer.test",
)  # fmt: skip


def click(after: timedelta, target: str = "https://shop.example/a") -> EventRecord:
    return EventRecord(COPY.copy_id, "click", SENT + after, "human", target)


async def judged(store: Store, records: list[EventRecord]) -> list[tuple[str, str | None]]:
    async with store.engine.connect() as conn:
        result = await reclassify(conn, records, TimingRules())
    return [(r.verdict, r.reason) for r in result.records]


async def test_a_click_seconds_after_sending_keeps_the_reason_early(store: Store):
    await store.record_copies([COPY])
    early, later = click(timedelta(seconds=4)), click(timedelta(minutes=5))
    assert await judged(store, [early, later]) == [
        ("scanner", "scanner:early"),
        ("human", "human"),
    ]


async def test_links_clicked_at_once_keep_the_reason_burst_even_right_after_sending(store: Store):
    await store.record_copies([COPY])
    # The shape says more than the time: a burst 40 s after sending (the median
    # scanner's start) and one 3 s after are both bursts.
    for start in (timedelta(seconds=40), timedelta(seconds=3)):
        both = [click(start), click(start + timedelta(milliseconds=400), "https://shop.example/b")]
        assert await judged(store, both) == [("scanner", "scanner:burst")] * 2


async def test_a_burst_split_between_two_tracker_nodes_is_found(store: Store, open_store: Callable):
    # Two trackers, each with its own connection pool, writing to one store.
    node_a, node_b = store, await open_store()
    node_a, node_b = (Store(node.engine, timing=TimingRules()) for node in (node_a, node_b))
    await node_a.record_copies([COPY])
    start = timedelta(minutes=2)
    await node_a.record_events([click(start)])
    await node_b.record_events(
        [click(start + timedelta(milliseconds=600), "https://shop.example/b")]
    )
    async with node_b.engine.connect() as conn:
        stored = (await conn.execute(select(events.c.verdict).order_by(events.c.id))).scalars()
        assert list(stored) == ["scanner", "scanner"]
    totals = (await node_a.stats())["totals"]
    assert (totals["human"]["clicks"], totals["machine"]["clicks"]) == (0, 2)
