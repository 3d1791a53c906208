"""Why events were counted as a person's or a machine's: events per reason.

Reasons are kept per event (`events.reason`, tracker/store/records.py); the
rollup counts verdicts, not reasons, so this reads the events themselves
(joined to their copies for a campaign). Events stored before reasons existed
have none and count under their verdict (`coalesce(reason, verdict)`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, case, func, select

from tracker.store.models import copies, events
from tracker.store.queries import COUNTED_VERDICTS

if TYPE_CHECKING:
    from tracker.store.store import Store

# What a reason breakdown shows: the tracking kinds (opt-outs and landing page
# reports are a person's whatever the verdict; tracker/store/queries.py).
REASON_KINDS = ("impression", "open", "click")
# Human first, then the machines that still count (image proxies), then the rest.
_ORDER = {"human": 0, **{verdict: 1 for verdict in COUNTED_VERDICTS if verdict != "human"}}


def reason_column():
    return func.coalesce(events.c.reason, events.c.verdict)


def reasons_query(campaign: str | None) -> Select:
    reason = reason_column().label("reason")
    query = select(
        events.c.kind,
        events.c.verdict,
        reason,
        func.count().label("events"),
    ).where(events.c.kind.in_(REASON_KINDS))
    if campaign is not None:
        query = query.select_from(events.join(copies, copies.c.copy_id == events.c.copy_id)).where(
            copies.c.campaign == campaign
        )
    order = case(_ORDER, value=events.c.verdict, else_=2)
    return query.group_by(events.c.kind, events.c.verdict, reason).order_by(
        order, events.c.verdict, reason, events.c.kind
    )


async def reason_counts(store: Store, campaign: str | None = None) -> list[dict[str, Any]]:
    """`[{"kind", "verdict", "reason", "counted", "events"}]`: human first, then
    image proxies (counted as opens), then the machines apart."""
    async with store.engine.connect() as conn:
        rows = (await conn.execute(reasons_query(campaign))).mappings().all()
    return [{**row, "counted": row["verdict"] in COUNTED_VERDICTS} for row in rows]


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
