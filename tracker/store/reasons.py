"""Why events were counted as a person's or a machine's: events per reason.

Reasons are kept per event (`events.reason`, tracker/store/records.py) and
counted per campaign, kind and reason in `campaign_reason_counts`, kept by the
writer in each batch's transaction (`add_reasons`), so the campaign page and
`stats --json` read a few rows, not the events. Events stored before reasons
existed count under their verdict. An event whose copy's sent fact was not
recorded yet when it was written (the relay records it asynchronously) is not
in the counts; `reasons_from_events` reads the events themselves (the
reference the tests compare against).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, String, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from tracker.store.idlists import among, per_dialect
from tracker.store.models import campaign_reason_counts, copies, events
from tracker.store.queries import COUNTED_VERDICTS
from tracker.store.records import EventRecord, verdict_of_reason

if TYPE_CHECKING:
    from tracker.store.store import Store

# What a reason breakdown shows: the tracking kinds (opt-outs and landing page
# reports are a person's whatever the verdict; tracker/store/queries.py).
REASON_KINDS = ("impression", "open", "click")
CAMPAIGN_CACHE_SIZE = 200_000  # copy id -> campaign; a copy's campaign never changes
_FIELDS = attrgetter("copy_id", "kind", "reason")

_CAMPAIGNS = per_dialect(
    lambda dialect: select(copies.c.copy_id, copies.c.campaign).where(
        among(copies.c.copy_id, String, dialect)
    )
)


class CampaignOf:
    """The campaign of each copy: as the rollup found it for this batch
    (`known`), else cached from earlier batches, else asked of the store (the
    copies whose events count in no rollup counter, e.g. a scanner's banner)."""

    def __init__(self) -> None:
        self._campaign: dict[str, str] = {}

    async def of(
        self, conn: AsyncConnection, copy_ids: Iterable[str], known: Mapping[str, tuple]
    ) -> dict[str, str]:
        cache = self._campaign
        found: dict[str, str] = {}
        missing = []
        for copy_id in copy_ids:
            key = known.get(copy_id)
            if key is not None:
                found[copy_id] = key[0] or ""
            elif copy_id in cache:
                found[copy_id] = cache[copy_id]
            else:
                missing.append(copy_id)
        if missing:
            if len(cache) + len(missing) > CAMPAIGN_CACHE_SIZE:
                cache.clear()
            query = _CAMPAIGNS[conn.dialect.name]
            for copy_id, campaign in (await conn.execute(query, {"ids": missing})).all():
                found[copy_id] = cache[copy_id] = campaign or ""
        return found


def _upsert(dialect_name: str):
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    insert = dialect.insert(campaign_reason_counts)
    return insert.on_conflict_do_update(
        index_elements=["campaign", "kind", "reason"],
        set_={"events": campaign_reason_counts.c.events + insert.excluded.events},
    )


_UPSERT = {name: _upsert(name) for name in ("sqlite", "postgresql")}


async def add_reasons(
    conn: AsyncConnection,
    records: Iterable[EventRecord],
    withdrawn: Iterable[EventRecord],
    campaigns: CampaignOf,
    known: Mapping[str, tuple] = {},
) -> None:
    """Add a batch to campaign_reason_counts (inside the events' transaction);
    `withdrawn`: stored events as they were counted before their reason changed;
    `known`: copy id -> (campaign, ...) as the rollup found them (rollup.add_events)."""
    # Counted per copy first, by C code (Counter over attrgetter): the writer's hot path.
    per_copy = Counter(map(_FIELDS, records))
    per_copy.subtract(map(_FIELDS, withdrawn))
    wanted = [key for key, count in per_copy.items() if count and key[1] in REASON_KINDS]
    if not wanted:
        return
    campaign_of = await campaigns.of(conn, {copy_id for copy_id, _, _ in wanted}, known)
    tally: Counter[tuple[str, str, str]] = Counter()
    for key in wanted:
        campaign = campaign_of.get(key[0])
        if campaign is not None:
            tally[(campaign, key[1], key[2])] += per_copy[key]
    # In key order: writers on several nodes lock the rows in the same order.
    rows = [
        {"campaign": c, "kind": k, "reason": r, "events": n}
        for (c, k, r), n in sorted(tally.items())
        if n
    ]
    if rows:
        await conn.execute(_UPSERT[conn.dialect.name], rows)


def reasons_query(campaign: str | None) -> Select:
    table = campaign_reason_counts
    query = (
        select(table.c.kind, table.c.reason, func.sum(table.c.events).label("events"))
        .where(table.c.kind.in_(REASON_KINDS))
        .group_by(table.c.kind, table.c.reason)
    )
    return query.where(table.c.campaign == campaign) if campaign is not None else query


def reasons_from_events_query(campaign: str | None) -> Select:
    reason = reason_column().label("reason")
    query = select(events.c.kind, reason, func.count().label("events")).where(
        events.c.kind.in_(REASON_KINDS)
    )
    if campaign is not None:
        query = query.select_from(events.join(copies, copies.c.copy_id == events.c.copy_id)).where(
            copies.c.campaign == campaign
        )
    return query.group_by(events.c.kind, reason)


def reason_column():
    return func.coalesce(events.c.reason, events.c.verdict)


async def reason_counts(store: Store, campaign: str | None = None) -> list[dict[str, Any]]:
    """`[{"kind", "verdict", "reason", "counted", "events"}]`, from the rollup."""
    return await _read(store, reasons_query(campaign))


async def reasons_from_events(store: Store, campaign: str | None = None) -> list[dict[str, Any]]:
    """The same from the events themselves (slow at millions of events)."""
    return await _read(store, reasons_from_events_query(campaign))


def _order(row: dict[str, Any]) -> tuple:
    # Human first, then the machines that still count (image proxies), then the rest.
    rank = 0 if row["verdict"] == "human" else 1 if row["counted"] else 2
    return (rank, row["reason"], row["kind"])


async def _read(store: Store, query: Select) -> list[dict[str, Any]]:
    async with store.engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    found = []
    for row in rows:
        if row["events"]:
            verdict = verdict_of_reason(row["reason"])
            counted = verdict in COUNTED_VERDICTS
            found.append(
                {**row, "events": int(row["events"]), "verdict": verdict, "counted": counted}
            )
    return sorted(found, key=_order)


def reason_table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per reason with a column per kind, in `reason_counts`' order."""
    table: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = table.setdefault(
            row["reason"],
            {"reason": row["reason"], "verdict": row["verdict"], "counted": row["counted"]}
            | dict.fromkeys(REASON_KINDS, 0),
        )
        entry[row["kind"]] += row["events"]
    return list(table.values())


def rebuild_reasons(conn: Any) -> None:
    """Recompute campaign_reason_counts from the events (rollup.rebuild)."""
    campaign = func.coalesce(copies.c.campaign, "")
    reason = reason_column()
    per_key = (
        select(campaign, events.c.kind, reason, func.count())
        .select_from(events.join(copies, copies.c.copy_id == events.c.copy_id))
        .where(events.c.kind.in_(REASON_KINDS))
        .group_by(campaign, events.c.kind, reason)
    )
    conn.execute(campaign_reason_counts.delete())
    names = ["campaign", "kind", "reason", "events"]
    conn.execute(campaign_reason_counts.insert().from_select(names, per_key))
