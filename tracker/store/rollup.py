"""The stats rollup: event counters maintained with every batch of events.

- `copy_counts` per copy and `copy_day_counts` per copy and UTC day;
- `campaign_counts` per campaign, variant and group, `campaign_day_counts`
  per campaign and UTC day and `campaign_domain_counts` per campaign and
  recipient domain: the copies' counters summed, with unique counts (copies
  with one or more) kept as counters of their own (their `sent` is a trigger's
  on `copies`, migration 0012);
- `early_day_counts`: events of copies whose sent fact was not recorded yet.

`add_events` runs inside the transaction that inserts the events, so the
rollup and the events never disagree. It adds, never sets: concurrent writers
on several tracker nodes add their batches in any order and the sum is the
same (an upsert with `counter = counter + excluded.counter`). A unique count
moves when a copy's own counter crosses zero. The per-copy upsert holds the
copy's row until commit, so its counters as the upsert returns them
(PostgreSQL) or as read back right after it (SQLite, whose writers take turns
anyway) are exactly this batch's "after", and "before" is after minus the
batch's increment. Stored clicks the timing rules re-mark as a scanner's are
taken back the same way (minus one click, plus one machine click; a unique
click may go back to 0).

Which campaign a copy belongs to is looked up after the per-copy upserts, in
a statement of its own. A copy not recorded yet (its events came first) has
its events kept per copy and day in `early_day_counts`; the stats add those
through `copies` once it is there. The lookup sees every sent fact committed
before the batch got the copy's row, so every batch that missed the copy
comes before every batch that found it, and the two parts add up to the
copy's counters, unique counts included.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import (
    Row,
    String,
    Table,
    bindparam,
    func,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert

from tracker.store.bulk import BulkInsert
from tracker.store.idlists import among, json_values
from tracker.store.models import (
    CAMPAIGN_COUNTERS,
    COUNTERS,
    UNIQUE_COUNTERS,
    campaign_counts,
    campaign_day_counts,
    campaign_domain_counts,
    copies,
    copy_counts,
    copy_day_counts,
    early_day_counts,
)
from tracker.store.queries import COUNTED_VERDICTS, LANDING_COUNTERS
from tracker.store.records import EVENT_KINDS, VERDICTS, EventRecord
from tracker.store.rollup_queries import counts_per, figures_per
from tracker.store.rollup_rebuild import rebuild

# counts_per and figures_per are the stats' reads (Store.stats calls them from here).
__all__ = [
    "CAMPAIGN_COUNTERS",
    "COUNTERS",
    "add_events",
    "add_to_campaigns",
    "add_to_copies",
    "attribute",
    "attribute_domains",
    "counts_per",
    "figures_per",
    "increments",
    "rebuild",
    "tally",
]

_INDEX = {name: i for i, name in enumerate(COUNTERS)}
_FIRST_UNIQUE = len(COUNTERS)
# Counter position -> position of its unique count in UNIQUE_COUNTERS (None: none);
# in a campaign row it is at _FIRST_UNIQUE + that.
_UNIQUE_AT = tuple(
    UNIQUE_COUNTERS.index(name) if name in UNIQUE_COUNTERS else None for name in COUNTERS
)
# A copy's campaign, variant, group and domain ('' for none): its keys in
# campaign_counts (the first three) and campaign_domain_counts (first and last).
CopyKey = tuple[str, ...]
Increments = dict[tuple[Hashable, ...], list[int]]


@dataclass(frozen=True)
class After:
    """The copies' UNIQUE_COUNTERS once a batch is added (in all, and per day)."""

    per_copy: dict[str, tuple[int, ...]]
    per_day: dict[tuple[str, date], tuple[int, ...]]


def counter_of(event: EventRecord) -> str | None:
    """Which counter one event adds to (None: it counts nowhere, e.g. a prefetched banner)."""
    kind = event.kind
    if kind == "optout":
        return "optouts"
    if kind in LANDING_COUNTERS:
        return LANDING_COUNTERS[kind]
    if kind in ("impression", "open", "click"):
        if event.verdict in COUNTED_VERDICTS:
            return f"{kind}s"
        return f"machine_{kind}s" if kind != "impression" else None
    return None


def increments(
    records: Iterable[EventRecord], withdrawn: Iterable[EventRecord] = (), *, per_day: bool
) -> Increments:
    """The COUNTERS' increments per copy (and UTC day) of a batch; `withdrawn`
    events count -1."""
    per_key: Increments = {}
    for sign, batch in ((1, records), (-1, withdrawn)):
        for record in batch:
            counter = counter_of(record)
            if counter is None:
                continue
            copy_id = record.copy_id
            key = (copy_id, record.at.astimezone(UTC).date()) if per_day else (copy_id,)
            row = per_key.get(key)
            if row is None:
                row = per_key[key] = [0] * len(COUNTERS)
            row[_INDEX[counter]] += sign
    return per_key


def _position(kind: str, verdict: str) -> int | None:
    """The position in COUNTERS of the counter `counter_of` picks (None: none)."""
    counter = counter_of(EventRecord("", kind, datetime.min, verdict))
    return None if counter is None else _INDEX[counter]


# Worked out once for every known kind and verdict; `tally` asks about any other.
_POSITION = {
    (kind, verdict): _position(kind, verdict)
    for kind in (*EVENT_KINDS, *LANDING_COUNTERS)
    for verdict in VERDICTS
}
_UNKNOWN = object()


def tally(
    records: Iterable[EventRecord], withdrawn: Iterable[EventRecord] = ()
) -> tuple[Increments, Increments]:
    """`increments` per copy and per copy and day at once, in one pass: the
    writer's form of it (the same dicts, in the same order)."""
    per_copy: Increments = {}
    per_day: Increments = {}
    position_of = _POSITION.get
    width = len(COUNTERS)
    for sign, batch in ((1, records), (-1, withdrawn)):
        for record in batch:
            position = position_of((record.kind, record.verdict), _UNKNOWN)
            if position is _UNKNOWN:
                position = _position(record.kind, record.verdict)
            if position is None:
                continue
            copy_id = record.copy_id
            key = (copy_id,)
            row = per_copy.get(key)
            if row is None:
                row = per_copy[key] = [0] * width
            row[position] += sign
            at = record.at
            key = (copy_id, (at if at.tzinfo is UTC else at.astimezone(UTC)).date())
            row = per_day.get(key)
            if row is None:
                row = per_day[key] = [0] * width
            row[position] += sign
    return per_copy, per_day


def _add(into: Increments, key: tuple[Hashable, ...], added: Sequence[int], after: Sequence[int]):
    """Add a copy's increments and the unique counts they move to a campaign row."""
    row = into.get(key)
    if row is None:
        row = into[key] = [0] * len(CAMPAIGN_COUNTERS)
    for i, value in enumerate(added):
        if value:
            row[i] += value
            unique = _UNIQUE_AT[i]
            if unique is not None:
                now = after[unique]
                row[_FIRST_UNIQUE + unique] += (now > 0) - (now - value > 0)


def attribute(
    per_copy: Increments,
    per_day: Increments,
    keys: Mapping[str, CopyKey],
    after: After,
) -> tuple[Increments, Increments, Increments]:
    """The increments of campaign_counts, campaign_day_counts and early_day_counts
    from a batch's per-copy ones. `keys`: the campaign key of each copy already
    recorded; `after`: the copies' UNIQUE_COUNTERS once the batch is added."""
    campaigns: Increments = {}
    campaign_days: Increments = {}
    early: Increments = {}
    for (copy_id,), added in per_copy.items():
        key = keys.get(copy_id)
        if key is not None and any(added):
            _add(campaigns, key[:3], added, after.per_copy[copy_id])
    for (copy_id, day), added in per_day.items():
        key = keys.get(copy_id)
        if not any(added):
            continue
        if key is None:
            row = early.setdefault((copy_id, day), [0] * len(COUNTERS))
            for i, value in enumerate(added):
                row[i] += value
        else:
            _add(campaign_days, (key[0], day), added, after.per_day[(copy_id, day)])
    return campaigns, campaign_days, early


def attribute_domains(
    per_copy: Increments, keys: Mapping[str, CopyKey], after: After
) -> Increments:
    """The increments of campaign_domain_counts, as `attribute` gives campaign_counts'."""
    domains: Increments = {}
    for (copy_id,), added in per_copy.items():
        key = keys.get(copy_id)
        if key is not None and any(added):
            _add(domains, (key[0], key[3]), added, after.per_copy[copy_id])
    return domains


def _rows(per_key: Increments) -> list[tuple[object, ...]]:
    rows = [(*key, *counts) for key, counts in per_key.items() if any(counts)]
    # Sorted: concurrent batches lock rows in one order, so they never deadlock.
    # By key, keys being unique; flat tuples starting with a string sort in C
    # at a fraction of the cost of (key tuple, counts) pairs.
    rows.sort()
    return rows


def _upserts(table: Table, counters: Sequence[str]) -> dict[str, BulkInsert]:
    keys = [column.name for column in table.primary_key.columns]
    built = {}
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql)):
        statement = dialect.insert(table)
        statement = statement.on_conflict_do_update(
            index_elements=keys,
            set_={name: table.c[name] + statement.excluded[name] for name in counters},
        )
        repeated = [key for key in keys if key == "day"]
        built[name] = BulkInsert(statement, (*keys, *counters), repeated)
    return built


def _returning_upsert(table: Table) -> Insert:
    """PostgreSQL: all of a batch's rows in one upsert (an array per column,
    unnested in order), returning each row's UNIQUE_COUNTERS after it. A
    counter that is 0 in every row may come as an empty array: unnest pads it
    with NULLs, read as 0 (`_returning` sends those; most of a batch's
    counters are, and encoding an array costs the driver ~0.1 us a value)."""
    keys = [column.name for column in table.primary_key.columns]
    names = (*keys, *COUNTERS)
    arrays = [bindparam(name, type_=postgresql.ARRAY(table.c[name].type)) for name in names]
    rows = func.unnest(*arrays).table_valued(*names).render_derived()
    values = [
        *(rows.c[key] for key in keys),
        *(func.coalesce(rows.c[n], literal_column("0")) for n in COUNTERS),
    ]
    statement = postgresql.insert(table).from_select(names, select(*values))
    statement = statement.on_conflict_do_update(
        index_elements=keys,
        set_={name: table.c[name] + statement.excluded[name] for name in COUNTERS},
    )
    return statement.returning(*(table.c[name] for name in (*keys, *UNIQUE_COUNTERS)))


# Built once: the upserts run with every batch of events, in this order (tables
# in one order, rows sorted: concurrent writers never deadlock).
_COPY = _upserts(copy_counts, COUNTERS)
_COPY_DAY = _upserts(copy_day_counts, COUNTERS)
_CAMPAIGN = _upserts(campaign_counts, CAMPAIGN_COUNTERS)
_CAMPAIGN_DAY = _upserts(campaign_day_counts, CAMPAIGN_COUNTERS)
_CAMPAIGN_DOMAIN = _upserts(campaign_domain_counts, CAMPAIGN_COUNTERS)
_EARLY = _upserts(early_day_counts, COUNTERS)
_COPY_RETURNING = _returning_upsert(copy_counts)
_COPY_DAY_RETURNING = _returning_upsert(copy_day_counts)
_UNIQUES = len(UNIQUE_COUNTERS)

# PostgreSQL: the campaign key of the batch's recorded copies (their ids one
# array, tracker/store/idlists.py). A statement of its own after the per-copy
# upserts: under read committed it sees every sent fact committed before this
# batch got the copies' rows (see the module doc).
_KEYS = select(
    copies.c.copy_id,
    func.coalesce(copies.c.campaign, ""),
    func.coalesce(copies.c.variant, ""),
    copies.c.group,
    func.coalesce(copies.c.domain, ""),
).where(among(copies.c.copy_id, String, "postgresql"))
# SQLite has no RETURNING for executemany: the same keys, and the copies'
# UNIQUE_COUNTERS per day and in all, read back after the upserts; the ids as
# one JSON array (tracker/store/idlists.py).
_BATCH_IDS = json_values("ids")
_AFTER = (
    select(
        copy_day_counts.c.copy_id,
        # As stored (SQLite keeps a day as its ISO text): looked up among the
        # batch's days instead of parsed on every row.
        type_coerce(copy_day_counts.c.day, String),
        copies.c.copy_id.label("recorded"),
        func.coalesce(copies.c.campaign, ""),
        func.coalesce(copies.c.variant, ""),
        copies.c.group,
        func.coalesce(copies.c.domain, ""),
        *(copy_counts.c[name] for name in UNIQUE_COUNTERS),
        *(copy_day_counts.c[name] for name in UNIQUE_COUNTERS),
    )
    .select_from(
        _BATCH_IDS.join(copy_day_counts, copy_day_counts.c.copy_id == _BATCH_IDS.c.value)
        .join(copy_counts, copy_counts.c.copy_id == copy_day_counts.c.copy_id)
        .outerjoin(copies, copies.c.copy_id == copy_day_counts.c.copy_id)
    )
    .where(copy_day_counts.c.day.in_(bindparam("days", expanding=True)))
)


async def add_events(
    conn: AsyncConnection, records: Iterable[EventRecord], withdrawn: Iterable[EventRecord] = ()
) -> dict[str, CopyKey]:
    """Add a batch to the rollup, in the events' transaction; `withdrawn`: stored events as
    counted before their verdict changed (now among `records`). The copies' campaign keys."""
    per_copy, per_day = tally(list(records), list(withdrawn))
    if not per_copy:
        return {}
    after = await add_to_copies(conn, per_copy, per_day)
    return await add_to_campaigns(conn, per_copy, per_day, after)


async def _returning(conn: AsyncConnection, upsert: Insert, rows: list[tuple]) -> list[Row]:
    keys = [column.name for column in upsert.table.primary_key.columns]
    names = keys + list(COUNTERS)
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    arrays = {name: list(values) for name, values in zip(keys, columns[: len(keys)], strict=True)}
    for name, values in zip(COUNTERS, columns[len(keys) :], strict=True):
        arrays[name] = list(values) if any(values) else []  # all 0: see _returning_upsert
    return (await conn.execute(upsert, arrays)).all()


async def add_to_copies(
    conn: AsyncConnection, per_copy: Increments, per_day: Increments
) -> After | None:
    """The first step of `add_events`: copy_counts and copy_day_counts. On
    PostgreSQL, the copies' UNIQUE_COUNTERS after it, as the upserts returned them."""
    if conn.dialect.name != "postgresql":
        await _COPY["sqlite"].execute(conn, _rows(per_copy))
        await _COPY_DAY["sqlite"].execute(conn, _rows(per_day))
        return None
    totals = await _returning(conn, _COPY_RETURNING, _rows(per_copy))
    days = await _returning(conn, _COPY_DAY_RETURNING, _rows(per_day))
    return After(
        {row[0]: tuple(row[1:]) for row in totals},
        {(row[0], row[1]): tuple(row[2:]) for row in days},
    )


async def add_to_campaigns(
    conn: AsyncConnection, per_copy: Increments, per_day: Increments, after: After | None
) -> dict[str, CopyKey]:
    """The second step of `add_events` (after `add_to_copies`, whose upserts
    hold the copies' rows): the campaign rollups and early_day_counts."""
    ids = sorted(copy_id for (copy_id,) in per_copy)
    keys: dict[str, CopyKey] = {}
    if after is not None:
        for copy_id, *key in (await conn.execute(_KEYS, {"ids": ids})).all():
            keys[copy_id] = tuple(key)
    else:
        after = After({}, {})
        days = sorted({day for _, day in per_day})
        day_of = {day.isoformat(): day for day in days}
        for row in (await conn.execute(_AFTER, {"ids": ids, "days": days})).all():
            copy_id = row[0]
            if row[2] is not None:
                keys[copy_id] = tuple(row[3:7])
            after.per_copy[copy_id] = tuple(row[7 : 7 + _UNIQUES])
            after.per_day[(copy_id, day_of[row[1]])] = tuple(row[7 + _UNIQUES :])
    campaigns, campaign_days, early = attribute(per_copy, per_day, keys, after)
    domains = attribute_domains(per_copy, keys, after)
    dialect = conn.dialect.name
    # In the order of the trigger adding "sent" to them (migration 0012): no deadlocks.
    for upserts, rows in (
        (_CAMPAIGN, campaigns),
        (_CAMPAIGN_DAY, campaign_days),
        (_CAMPAIGN_DOMAIN, domains),
        (_EARLY, early),
    ):
        if rows:
            await upserts[dialect].execute(conn, _rows(rows))
    return keys
