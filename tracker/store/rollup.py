"""The stats rollup: event counters maintained with every batch of events,
per copy (`copy_counts`) and per copy and UTC day (`copy_day_counts`).

`add_events` runs inside the transaction that inserts the events, so the
rollup and the events never disagree. It adds, never sets: concurrent
writers on several tracker nodes add their batches in any order and the sum
is the same (an upsert with `counter = counter + excluded.counter`). Stored
clicks the timing rules re-mark as a scanner's are taken back the same way
(minus one click, plus one machine click).

The stats queries aggregate `copies` joined to the rollup: one row per copy
(or per copy and day) however many events it had. A campaign with 10 million
events over a million copies is a million-row aggregate (an index range on
the campaign) instead of a ten-million-row join with COUNT(DISTINCT ...).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from datetime import UTC

from sqlalchemy import (
    ColumnElement,
    Connection,
    Date,
    Select,
    Table,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from tracker.store.bulk import BulkInsert
from tracker.store.models import copies, copy_counts, copy_day_counts, events
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


RowKey = Callable[[EventRecord], tuple[Hashable, ...]]


def _per_copy(event: EventRecord) -> tuple[Hashable, ...]:
    return (event.copy_id,)


def _per_copy_and_day(event: EventRecord) -> tuple[Hashable, ...]:
    return (event.copy_id, event.at.astimezone(UTC).date())


def increments(
    records: Iterable[EventRecord],
    withdrawn: Iterable[EventRecord] = (),
    key: RowKey = _per_copy,
) -> list[tuple[object, ...]]:
    """One row per rollup key in the batch: the key, then the COUNTERS' increments
    (`withdrawn` events count -1), sorted by key."""
    per_key: dict[tuple[Hashable, ...], dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(COUNTERS, 0)
    )
    for sign, batch in ((1, records), (-1, withdrawn)):
        for record in batch:
            counter = counter_of(record)
            if counter is not None:
                per_key[key(record)][counter] += sign
    # Sorted: concurrent batches lock rows in one order, so they never deadlock.
    return [
        (*k, *counts.values()) for k, counts in sorted(per_key.items(), key=lambda kv: str(kv[0]))
    ]


def _upsert(table: Table, keys: tuple[str, ...], dialect_name: str) -> BulkInsert:
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={name: table.c[name] + statement.excluded[name] for name in COUNTERS},
    )
    return BulkInsert(statement, (*keys, *COUNTERS))


# Built once: the upserts run with every batch of events (tracker/store/bulk.py).
_ROLLUPS: tuple[tuple[RowKey, dict[str, BulkInsert]], ...] = tuple(
    (key, {name: _upsert(table, keys, name) for name in ("sqlite", "postgresql")})
    for table, keys, key in (
        (copy_counts, ("copy_id",), _per_copy),
        (copy_day_counts, ("copy_id", "day"), _per_copy_and_day),
    )
)


async def add_events(
    conn: AsyncConnection, records: Iterable[EventRecord], withdrawn: Iterable[EventRecord] = ()
) -> None:
    """Add a batch of events to the rollup (call inside the events' transaction);
    `withdrawn`: stored events as they were counted before their verdict changed
    (their new verdict is among `records`)."""
    records, withdrawn = list(records), list(withdrawn)
    for key, upserts in _ROLLUPS:
        rows = increments(records, withdrawn, key)
        if rows:
            await upserts[conn.dialect.name].execute(conn, rows)


def _utc_day(column: ColumnElement, dialect_name: str) -> ColumnElement:
    # PostgreSQL keeps timestamptz; SQLite keeps UTC wall time, whose date() is the UTC date.
    if dialect_name == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    return func.date(column)


def rebuild(conn: Connection) -> None:
    """Recompute the rollup from the events (after a bulk load that bypassed the writer)."""
    counted = events.c.verdict.in_(COUNTED_VERDICTS)
    machine = events.c.verdict.not_in(COUNTED_VERDICTS)
    kind = events.c.kind

    def count(*conditions: ColumnElement[bool]) -> ColumnElement[int]:
        return func.sum(case((and_(*conditions), 1), else_=0))

    counters = (
        count(kind == "impression", counted),
        count(kind == "open", counted),
        count(kind == "click", counted),
        count(kind == "optout"),
        count(kind == "open", machine),
        count(kind == "click", machine),
    )
    day = _utc_day(events.c.at, conn.dialect.name)
    for table, keys in (
        (copy_counts, (events.c.copy_id,)),
        (copy_day_counts, (events.c.copy_id, day)),
    ):
        per_key = select(*keys, *counters).group_by(*keys)
        conn.execute(delete(table))
        names = [column.name for column in table.primary_key.columns]
        conn.execute(insert(table).from_select([*names, *COUNTERS], per_key))


def _columns(rollup: Table = copy_counts) -> list[ColumnElement]:
    c = rollup.c

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
    """The event figures per grouping key, or in total when `by` is None. By
    "day", events count on the (UTC) day they happened, the key a date."""
    rollup = copy_day_counts if by == "day" else copy_counts
    joined = rollup.join(copies, rollup.c.copy_id == copies.c.copy_id)
    where = [copies.c.campaign == campaign] if campaign is not None else []
    if by is None:
        return select(*_columns()).select_from(joined).where(*where)
    key = (rollup.c.day if by == "day" else copies.c[by]).label("key")
    return select(key, *_columns(rollup)).select_from(joined).where(*where).group_by(key)
