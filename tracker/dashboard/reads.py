"""What the dashboard and the API read from the store, beyond `Store.stats`.

Named queries (STYLE.md: listmonk), read-only. The events page never selects
the `ip` column: the API promises no IP addresses, whatever the store keeps.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tracker.store import Store
from tracker.store.models import COUNTERS, campaign_counts, copies, events, metadata
from tracker.store.queries import COUNTED_VERDICTS
from tracker.store.reasons import reason_column

EVENTS_PAGE_MAX = 500


@dataclass(frozen=True)
class EventRow:
    id: int
    at: datetime
    kind: str
    verdict: str
    reason: str  # which rule gave the verdict (tracker/store/records.py)
    target: str | None
    campaign: str | None
    variant: str | None
    domain: str | None
    recipient: str | None

    def as_json(self) -> dict[str, Any]:
        return {**vars(self), "at": self.at.isoformat()}


@dataclass(frozen=True)
class EventsPage:
    events: tuple[EventRow, ...]
    next_before: int | None  # pass as `before` for the next (older) page


def events_page_query(
    before: int | None, limit: int, campaign: str | None, *, walk_events: bool = False
) -> Select:
    """`limit` + 1 events (one more tells whether there is a next page), newest first.
    With a campaign, the database reads either its copies' events, all of them
    (then sorts them), or, with `walk_events`, every event newest first until it
    has enough of the campaign's (`walks_events` chooses)."""
    joined = events.outerjoin(copies, events.c.copy_id == copies.c.copy_id)
    query = select(
        events.c.id,
        events.c.at,
        events.c.kind,
        events.c.verdict,
        reason_column().label("reason"),
        events.c.target,
        copies.c.campaign,
        copies.c.variant,
        copies.c.domain,
        copies.c.recipient,
    ).select_from(joined)
    if before is not None:
        query = query.where(events.c.id < before)
    if campaign is not None and walk_events:
        # Not a condition on the copy's campaign itself (COALESCE is not null
        # rejecting): the outer join stays one, so the events lead the join.
        query = query.where(func.coalesce(copies.c.campaign, "") == campaign)
    elif campaign is not None:
        query = query.where(copies.c.campaign == campaign)
    return query.order_by(events.c.id.desc()).limit(limit + 1)


async def walks_events(conn: AsyncConnection, campaign: str, limit: int) -> bool:
    """Whether walking the events newest first finds `limit` of the campaign's
    sooner than reading all the campaign's events: about limit * all / campaign's
    events against the campaign's, as the rollup counts them. SQLite's planner
    reads them all even for a campaign with 10 M events (seconds); PostgreSQL's
    then also walks, and for a small campaign both read its few events."""
    counted = sum((campaign_counts.c[name] for name in COUNTERS), start=0)
    mine = func.sum(case((campaign_counts.c.campaign == campaign, counted), else_=0))
    row = (await conn.execute(select(mine, func.sum(counted)))).one()
    campaign_events, all_events = int(row[0] or 0), int(row[1] or 0)
    return campaign_events * campaign_events > limit * all_events


async def events_page(
    store: Store, *, before: int | None = None, limit: int = 100, campaign: str | None = None
) -> EventsPage:
    """Newest first, keyset-paginated by event id (stable while events arrive)."""
    limit = max(1, min(limit, EVENTS_PAGE_MAX))
    async with store.engine.connect() as conn:
        walk = campaign is not None and await walks_events(conn, campaign, limit)
        query = events_page_query(before, limit, campaign, walk_events=walk)
        rows = [EventRow(**row) for row in (await conn.execute(query)).mappings()]
    more = len(rows) > limit
    rows = rows[:limit]
    return EventsPage(tuple(rows), rows[-1].id if more else None)


async def optouts_by_domain(store: Store) -> list[dict[str, Any]]:
    """Opt-out events per recipient domain (None: anonymous copies), most first."""
    joined = events.outerjoin(copies, events.c.copy_id == copies.c.copy_id)
    count = func.count().label("optouts")
    query = (
        select(copies.c.domain, count)
        .select_from(joined)
        .where(events.c.kind == "optout")
        .group_by(copies.c.domain)
        .order_by(count.desc())
    )
    async with store.engine.connect() as conn:
        return [dict(row) for row in (await conn.execute(query)).mappings()]


@dataclass(frozen=True)
class VariantCopies:
    variant: str | None
    copies: int
    recipients: int


async def copies_per_variant(store: Store, campaign: str) -> list[VariantCopies]:
    """How many copies (and recipients) each variant of a campaign got: the A/B
    assignment as it happened (campaign_counts, which a trigger on `copies` keeps)."""
    counts = campaign_counts.c
    variant = func.nullif(counts.variant, "")  # '' there: no variant
    query = (
        select(variant, func.sum(counts.copies), func.sum(counts.sent))
        .where(counts.campaign == campaign)
        .group_by(variant)
        .having(func.sum(counts.copies) > 0)
        .order_by(variant)
    )
    async with store.engine.connect() as conn:
        return [VariantCopies(v, int(n), int(r)) for v, n, r in await conn.execute(query)]


async def campaign_start(store: Store, campaign: str) -> datetime | None:
    """When the campaign's first copy was sent (None: none yet)."""
    query = select(func.min(copies.c.sent_at)).where(copies.c.campaign == campaign)
    async with store.engine.connect() as conn:
        return (await conn.execute(query)).scalar()


def _utc_hour(column: ColumnElement, dialect_name: str) -> ColumnElement[str]:
    """'YYYY-MM-DD HH' of a time column in UTC."""
    # PostgreSQL sessions run in UTC (tracker/store/store.py); SQLite keeps UTC wall time.
    if dialect_name == "postgresql":
        return func.to_char(column, "YYYY-MM-DD HH24")
    return func.strftime("%Y-%m-%d %H", column)


async def events_per_hour(
    store: Store, campaign: str, since: datetime, until: datetime
) -> dict[str, dict[str, int]]:
    """Impressions, opens and clicks (people and proxies, as the stats count
    them) and landing page visits of a campaign's copies per UTC hour
    ('YYYY-MM-DD HH'), from the events between `since` and `until`. For the
    first 48 hours of a campaign: the rollup keeps days only."""
    hour = _utc_hour(events.c.at, store.engine.dialect.name).label("hour")
    counted = events.c.verdict.in_(COUNTED_VERDICTS)

    def count(*conditions: ColumnElement[bool]) -> ColumnElement[int]:
        return func.sum(case((and_(*conditions), 1), else_=0))

    query = (
        select(
            hour,
            count(events.c.kind == "impression", counted).label("impressions"),
            count(events.c.kind == "open", counted).label("opens"),
            count(events.c.kind == "click", counted).label("clicks"),
            count(events.c.kind == "visit").label("visits"),
        )
        .select_from(events.join(copies, events.c.copy_id == copies.c.copy_id))
        .where(copies.c.campaign == campaign, events.c.at >= since, events.c.at < until)
        .group_by(hour)
    )
    async with store.engine.connect() as conn:
        rows = (await conn.execute(query)).mappings()
        return {row["hour"]: {k: int(v) for k, v in row.items() if k != "hour"} for row in rows}


def exportable_tables() -> dict[str, Table]:
    return {table.name: table for table in metadata.sorted_tables}


async def table_rows(
    store: Store, table: Table, chunk: int = 1000
) -> AsyncIterator[tuple[Any, ...]]:
    """Every row of a table, streamed from a server-side cursor (not all in memory)."""
    order = list(table.primary_key.columns) or list(table.columns)[:1]
    async with store.engine.connect() as conn:
        result = await conn.stream(
            select(table).order_by(*order).execution_options(yield_per=chunk)
        )
        async for row in result:
            yield tuple(row)
