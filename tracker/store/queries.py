"""Every query the store runs, named after what it answers (STYLE.md: listmonk).

Stats read the rollup (tracker/store/rollup_queries.py) and the "sent" facts
from `copies`. `events_per` counts the same figures from the events
themselves (joined to their copies: an event whose copy the store never saw,
such as an untracked copy's banner, counts nothing): the reference the rollup
is tested against, too slow for stats at millions of events. Unique counts
count distinct copies, so totals are queried, never summed from rows.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    TextClause,
    and_,
    case,
    cast,
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
# What the landing page script reports (tracker/landing.py), and the counter
# each kind adds to: a browser running the page's script, so a person's,
# counted whatever the verdict, like opt-outs.
LANDING_COUNTERS = {"visit": "visits", "link": "link_clicks", "download": "downloads"}


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


def utc_day(column: ColumnElement, dialect_name: str) -> ColumnElement:
    """The UTC date of a time column, as a date."""
    # PostgreSQL keeps timestamptz; SQLite keeps UTC wall time, whose date() is the UTC date.
    if dialect_name == "postgresql":
        return cast(func.timezone("UTC", column), Date)
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
    if by == "day" and dialect_name == "postgresql":
        # Grouped by the date and spelled as text once per day, not once per copy.
        day = utc_day(copies.c.sent_at, dialect_name).label("day")
        per_day = select(day, sent).where(*_in_campaign(campaign)).group_by(day).subquery()
        return select(func.to_char(per_day.c.day, "YYYY-MM-DD").label("key"), per_day.c.sent)
    key = _copies_key(by, dialect_name).label("key")
    return select(key, sent).where(*_in_campaign(campaign)).group_by(key)


def _count(*conditions: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((and_(*conditions), 1), else_=0)), 0)


def _count_copies(*conditions: ColumnElement[bool]) -> ColumnElement[int]:
    return func.count(distinct(case((and_(*conditions), events.c.copy_id))))


def _event_columns() -> list[ColumnElement]:
    counted = events.c.verdict.in_(COUNTED_VERDICTS)
    machine = events.c.verdict.not_in(COUNTED_VERDICTS)
    kind = events.c.kind
    columns = [
        _count(kind == "impression", counted).label("impressions"),
        _count_copies(kind == "impression", counted).label("unique_impressions"),
        _count(kind == "open", counted).label("opens"),
        _count_copies(kind == "open", counted).label("unique_opens"),
        _count(kind == "click", counted).label("clicks"),
        _count_copies(kind == "click", counted).label("unique_clicks"),
        _count(kind == "optout").label("optouts"),
        _count(kind == "open", machine).label("machine_opens"),
        _count(kind == "click", machine).label("machine_clicks"),
    ]
    for event_kind, name in LANDING_COUNTERS.items():
        columns.append(_count(kind == event_kind).label(name))
        columns.append(_count_copies(kind == event_kind).label(f"unique_{name}"))
    return columns


def events_per(by: str | None, campaign: str | None, dialect_name: str) -> Select:
    """Impressions, opens, clicks (all and unique, human and machine),
    opt-outs and landing page events of recorded copies, counted from the
    events, per grouping key (or in total)."""
    joined = events.join(copies, events.c.copy_id == copies.c.copy_id)
    columns = _event_columns()
    if by is None:
        return select(*columns).select_from(joined).where(*_in_campaign(campaign))
    key = _events_key(by, dialect_name).label("key")
    return select(key, *columns).select_from(joined).where(*_in_campaign(campaign)).group_by(key)
