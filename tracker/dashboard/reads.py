"""What the dashboard and the API read from the store, beyond `Store.stats`.

Named queries (STYLE.md: listmonk), read-only. The events page never selects
the `ip` column: the API promises no IP addresses, whatever the store keeps.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Table, func, select

from tracker.store import Store
from tracker.store.models import copies, events, metadata
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


def events_page_query(before: int | None, limit: int, campaign: str | None) -> Select:
    """`limit` + 1 events (one more tells whether there is a next page), newest first."""
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
    if campaign is not None:
        query = query.where(copies.c.campaign == campaign)
    return query.order_by(events.c.id.desc()).limit(limit + 1)


async def events_page(
    store: Store, *, before: int | None = None, limit: int = 100, campaign: str | None = None
) -> EventsPage:
    """Newest first, keyset-paginated by event id (stable while events arrive)."""
    limit = max(1, min(limit, EVENTS_PAGE_MAX))
    query = events_page_query(before, limit, campaign)
    async with store.engine.connect() as conn:
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
