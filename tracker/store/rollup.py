"""The stats rollup: per-copy counters maintained with every batch of events.

`add_events` runs inside the transaction that inserts the events, so the
rollup and the events never disagree. It adds, never sets: concurrent
writers on several tracker nodes add their batches in any order and the sum
is the same (an upsert with `counter = counter + excluded.counter`).

The stats queries aggregate `copies` joined to `copy_counts`: one row per
copy however many events it had. A campaign with 10 million events over a
million copies is a million-row aggregate (an index range on the campaign)
instead of a ten-million-row join with COUNT(DISTINCT ...).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    case,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from tracker.store.bulk import BulkInsert
from tracker.store.models import copies, copy_counts, events
from tracker.store.queries import COUNTED_VERDICTS
from tracker.store.records import EventRecord

COUNTERS = ("impressions", "opens", "clicks", "optouts", "machine_opens", "machine_clicks")


def counter_of(event: EventRecord) -> str | None:
    """Which counter one event adds to (None: it counts nowhere, e.g. a prefetched banner)."""
    counted = event.verdict in COUNTED_VERDICTS
    if event.kind == "optout":
        return "optouts"
    if event.kind in ("impression", "open", "click"):
        if counted:
            return f"{event.kind}s"
        return f"machine_{event.kind}s" if event.kind != "impression" else None
    return None


def increments(records: Iterable[EventRecord]) -> list[dict[str, object]]:
    """One row of counter increments per copy in the batch."""
    per_copy: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    for record in records:
        counter = counter_of(record)
        if counter is not None:
            per_copy[record.copy_id][counter] += 1
    return [{"copy_id": copy_id, **counts} for copy_id, counts in per_copy.items()]


def _upsert(dialect_name: str):
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(copy_counts)
    return statement.on_conflict_do_update(
        index_elements=["copy_id"],
        set_={name: copy_counts.c[name] + statement.excluded[name] for name in COUNTERS},
    )


# Built once: the upsert runs with every batch of events (tracker/store/bulk.py).
_UPSERTS = {
    name: BulkInsert(_upsert(name), ("copy_id", *COUNTERS)) for name in ("sqlite", "postgresql")
}


async def add_events(conn: AsyncConnection, records: Iterable[EventRecord]) -> None:
    """Add a batch of events to the rollup (call inside the events' transaction)."""
    rows = increments(records)
    if rows:
        # Sorted: concurrent batches lock rows in one order, so they never deadlock.
        rows.sort(key=lambda row: str(row["copy_id"]))
        values = [tuple(row.values()) for row in rows]  # in ("copy_id", *COUNTERS) order
        await _UPSERTS[conn.dialect.name].execute(conn, values)


def rebuild(conn: Connection) -> None:
    """Recompute the rollup from the events (after a bulk load that bypassed the writer)."""
    counted = events.c.verdict.in_(COUNTED_VERDICTS)
    machine = events.c.verdict.not_in(COUNTED_VERDICTS)
    kind = events.c.kind

    def count(*conditions: ColumnElement[bool]) -> ColumnElement[int]:
        return func.sum(case((and_(*conditions), 1), else_=0))

    per_copy = select(
        events.c.copy_id,
        count(kind == "impression", counted),
        count(kind == "open", counted),
        count(kind == "click", counted),
        count(kind == "optout"),
        count(kind == "open", machine),
        count(kind == "click", machine),
    ).group_by(events.c.copy_id)
    conn.execute(delete(copy_counts))
    conn.execute(insert(copy_counts).from_select(["copy_id", *COUNTERS], per_copy))


def _columns() -> list[ColumnElement]:
    c = copy_counts.c

    def total(column: ColumnElement) -> ColumnElement[int]:
        return func.coalesce(func.sum(column), 0)

    def unique(column: ColumnElement) -> ColumnElement[int]:
        return total(case((column > 0, 1), else_=0))

    return [
        total(c.impressions).label("impressions"),
        unique(c.impressions).label("unique_impressions"),
        total(c.opens).label("opens"),
        unique(c.opens).label("unique_opens"),
        total(c.clicks).label("clicks"),
        unique(c.clicks).label("unique_clicks"),
        total(c.optouts).label("optouts"),
        total(c.opens).label("human_opens"),
        total(c.clicks).label("human_clicks"),
        total(c.machine_opens).label("machine_opens"),
        total(c.machine_clicks).label("machine_clicks"),
    ]


def figures_per(by: str | None, campaign: str | None) -> Select:
    """Sent and every event figure in one pass over the campaign's copies (left
    join: a copy without events still counts as sent). Each copy lands in
    exactly one row, so rows add up to the totals, unique counts included."""
    joined = copies.outerjoin(copy_counts, copy_counts.c.copy_id == copies.c.copy_id)
    where = [copies.c.campaign == campaign] if campaign is not None else []
    sent = func.coalesce(func.sum(copies.c.recipients), 0).label("sent")
    if by is None:
        return select(sent, *_columns()).select_from(joined).where(*where)
    key = copies.c[by].label("key")
    return select(key, sent, *_columns()).select_from(joined).where(*where).group_by(key)


def counts_per(by: str | None, campaign: str | None) -> Select:
    """The event figures per grouping key (not "day": events by the day they
    happened need the events themselves), or in total when `by` is None."""
    joined = copy_counts.join(copies, copy_counts.c.copy_id == copies.c.copy_id)
    where = [copies.c.campaign == campaign] if campaign is not None else []
    if by is None:
        return select(*_columns()).select_from(joined).where(*where)
    key = copies.c[by].label("key")
    return select(key, *_columns()).select_from(joined).where(*where).group_by(key)
