"""Every query the store runs, named after what it answers (STYLE.md: listmonk).

Stats are two aggregate queries per grouping: the "sent" facts from `copies`,
and the events joined to their copies (an event whose copy the store never
saw, such as an untracked copy's banner, counts nothing). Unique counts count
distinct copies, so totals are queried, never summed from rows.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import (
    ColumnElement,
    Select,
    TextClause,
    and_,
    case,
    distinct,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from tracker.store.models import copies, events

GROUPINGS = ("campaign", "variant", "group", "sender", "domain", "recipient", "day")

# Events that count as a person's action. Gmail's and Yahoo's image proxies
# fetch on a real open (DESIGN.md), so `proxy` counts; prefetch and scanners do not.
COUNTED_VERDICTS = ("human", "proxy")


def insert_copies_once(dialect_name: str) -> Insert:
    """Record sent facts; a copy recorded before is left as it is (retries are harmless)."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return dialect.insert(copies).on_conflict_do_nothing(index_elements=["copy_id"])


def insert_events() -> Insert:
    return insert(events)


def store_is_reachable() -> Select:
    return select(1)


# Any constant shared by all nodes: serialises concurrent `db upgrade` runs.
_MIGRATION_LOCK = 0x5167_7265_6C61_79


def wait_for_migration_lock() -> TextClause:
    """PostgreSQL only: held until the migrating transaction ends."""
    return text(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")


def _day(column: ColumnElement, dialect_name: str) -> ColumnElement:
    # PostgreSQL sessions run in UTC (see store.py); SQLite keeps UTC wall time.
    if dialect_name == "postgresql":
        return func.to_char(column, "YYYY-MM-DD")
    return func.date(column)


def _copies_key(by: str, dialect_name: str) -> ColumnElement:
    return _day(copies.c.sent_at, dialect_name) if by == "day" else copies.c[by]


def _events_key(by: str, dialect_name: str) -> ColumnElement:
    # By day, an event belongs to the day it happened, not the day its copy was sent.
    return _day(events.c.at, dialect_name) if by == "day" else copies.c[by]


def _in_campaign(campaign: str | None) -> Sequence[ColumnElement[bool]]:
    return [copies.c.campaign == campaign] if campaign is not None else []


def sent_per(by: str | None, campaign: str | None, dialect_name: str) -> Select:
    """Recipients of copies sent, per grouping key (or in total when `by` is None)."""
    sent = func.coalesce(func.sum(copies.c.recipients), 0).label("sent")
    if by is None:
        return select(sent).where(*_in_campaign(campaign))
    key = _copies_key(by, dialect_name).label("key")
    return select(key, sent).where(*_in_campaign(campaign)).group_by(key)


def _count(*conditions: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((and_(*conditions), 1), else_=0)), 0)


def _count_copies(*conditions: ColumnElement[bool]) -> ColumnElement[int]:
    return func.count(distinct(case((and_(*conditions), events.c.copy_id))))


def _event_columns() -> list[ColumnElement]:
    counted = events.c.verdict.in_(COUNTED_VERDICTS)
    # A proxy fetch is a person opening through their provider: human, like `opens`.
    human, machine = counted, events.c.verdict.not_in(COUNTED_VERDICTS)
    kind = events.c.kind
    return [
        _count(kind == "impression", counted).label("impressions"),
        _count_copies(kind == "impression", counted).label("unique_impressions"),
        _count(kind == "open", counted).label("opens"),
        _count_copies(kind == "open", counted).label("unique_opens"),
        _count(kind == "click", counted).label("clicks"),
        _count_copies(kind == "click", counted).label("unique_clicks"),
        _count(kind == "optout").label("optouts"),
        _count(kind == "open", human).label("human_opens"),
        _count(kind == "click", human).label("human_clicks"),
        _count(kind == "open", machine).label("machine_opens"),
        _count(kind == "click", machine).label("machine_clicks"),
    ]


def events_per(by: str | None, campaign: str | None, dialect_name: str) -> Select:
    """Impressions, opens, clicks (all and unique, human and machine) and
    opt-outs of recorded copies, per grouping key (or in total)."""
    joined = events.join(copies, events.c.copy_id == copies.c.copy_id)
    columns = _event_columns()
    if by is None:
        return select(*columns).select_from(joined).where(*_in_campaign(campaign))
    key = _events_key(by, dialect_name).label("key")
    return select(key, *columns).select_from(joined).where(*_in_campaign(campaign)).group_by(key)
