"""The stats rollup recomputed from the copies and events (after a bulk load
that bypassed the writer and the relay): the same rows the writer and the
trigger on `copies` keep (tracker/store/rollup.py, migration 0012)."""

from __future__ import annotations

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from tracker.store.models import (
    CAMPAIGN_COUNTERS,
    COUNTERS,
    campaign_counts,
    campaign_day_counts,
    campaign_domain_counts,
    copies,
    copy_counts,
    copy_day_counts,
    early_day_counts,
    events,
)
from tracker.store.queries import COUNTED_VERDICTS, LANDING_COUNTERS, utc_day
from tracker.store.reasons import rebuild_reasons
from tracker.store.rollup_queries import copy_figures


def _event_counters() -> list[ColumnElement[int]]:
    """COUNTERS computed from the events, the way `counter_of` counts each one."""
    counted = events.c.verdict.in_(COUNTED_VERDICTS)
    machine = events.c.verdict.not_in(COUNTED_VERDICTS)
    kind = events.c.kind

    def count(*conditions: ColumnElement[bool]) -> ColumnElement[int]:
        return func.sum(case((and_(*conditions), 1), else_=0))

    return [
        count(kind == "impression", counted),
        count(kind == "open", counted),
        count(kind == "click", counted),
        count(kind == "optout"),
        count(kind == "open", machine),
        count(kind == "click", machine),
        *(count(kind == event_kind) for event_kind in LANDING_COUNTERS),
    ]


def _key_names(table) -> list[str]:
    return [column.name for column in table.primary_key.columns]


def _rebuild_copies(conn: Connection) -> None:
    day = utc_day(events.c.at, conn.dialect.name)
    for table, keys in (
        (copy_counts, (events.c.copy_id,)),
        (copy_day_counts, (events.c.copy_id, day)),
    ):
        per_key = select(*keys, *_event_counters()).group_by(*keys)
        conn.execute(delete(table))
        conn.execute(insert(table).from_select([*_key_names(table), *COUNTERS], per_key))


def _rebuild_campaigns(conn: Connection) -> None:
    """Per campaign key: the copies' counters summed and their recipients as `sent`
    (every copy, with events or not: a left join)."""
    campaign = func.coalesce(copies.c.campaign, "")
    sent = func.coalesce(func.sum(copies.c.recipients), 0)
    for table, keys in (
        (campaign_counts, (campaign, func.coalesce(copies.c.variant, ""), copies.c.group)),
        (campaign_domain_counts, (campaign, func.coalesce(copies.c.domain, ""))),
    ):
        joined = copies.outerjoin(copy_counts, copy_counts.c.copy_id == copies.c.copy_id)
        added = {"sent": sent} | ({"copies": func.count()} if "copies" in table.c else {})
        per_key = select(*keys, *copy_figures(copy_counts), *added.values()).select_from(joined)
        conn.execute(delete(table))
        names = [*_key_names(table), *CAMPAIGN_COUNTERS, *added]
        conn.execute(insert(table).from_select(names, per_key.group_by(*keys)))
    # Per day: the events' days, then the sending days' recipients added.
    joined = copy_day_counts.join(copies, copies.c.copy_id == copy_day_counts.c.copy_id)
    keys = (campaign, copy_day_counts.c.day)
    per_key = select(*keys, *copy_figures(copy_day_counts)).select_from(joined).group_by(*keys)
    conn.execute(delete(campaign_day_counts))
    names = [*_key_names(campaign_day_counts), *CAMPAIGN_COUNTERS]
    conn.execute(insert(campaign_day_counts).from_select(names, per_key))
    day = utc_day(copies.c.sent_at, conn.dialect.name)
    sent_per_day = select(campaign, day, sent).where(True).group_by(campaign, day)
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    upsert = dialect.insert(campaign_day_counts).from_select(
        ["campaign", "day", "sent"], sent_per_day
    )
    conn.execute(
        upsert.on_conflict_do_update(
            index_elements=_key_names(campaign_day_counts), set_={"sent": upsert.excluded.sent}
        )
    )


def rebuild(conn: Connection) -> None:
    """Recompute the rollup from the copies and events."""
    _rebuild_copies(conn)
    _rebuild_campaigns(conn)
    rebuild_reasons(conn)
    recorded = exists().where(copies.c.copy_id == copy_day_counts.c.copy_id)
    conn.execute(delete(early_day_counts))
    conn.execute(
        insert(early_day_counts).from_select(
            ["copy_id", "day", *COUNTERS],
            select(copy_day_counts).where(~recorded),
        )
    )
