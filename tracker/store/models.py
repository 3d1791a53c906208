"""The tables. The schema itself is made by the Alembic migrations in
`migrations/versions/`; these definitions are what the queries are written
against and must match the newest migration (tests/tracker/test_migrations.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.dialects.sqlite import DATETIME as SQLITE_DATETIME

metadata = MetaData()


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend.
    SQLite has no time zones: it keeps UTC wall time and we put UTC back."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the store takes aware UTC datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    # The two methods above are the reference; SQLAlchemy chains them with the
    # dialect's own processors (two or three Python calls a value). The writer
    # binds and reads thousands of times a batch, so on SQLite (with its default
    # storage format) and for PostgreSQL binds one function each does the same
    # in one call (tests/tracker/test_store_types.py compares them).

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name == "sqlite" and _default_sqlite_format(self.impl_instance):
            return _sqlite_text_of
        if dialect.name == "postgresql" and self.impl_instance.bind_processor(dialect) is None:
            return _aware_utc
        return super().bind_processor(dialect)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], Any] | None:
        if dialect.name == "sqlite" and _default_sqlite_format(self.impl_instance):
            return _utc_of_sqlite_text
        return super().result_processor(dialect, coltype)


# SQLAlchemy's SQLite DATETIME keeps "YYYY-MM-DD HH:MM:SS.ffffff" (microseconds always).
_SQLITE_FORMAT = SQLITE_DATETIME()._storage_format
_SQLITE_TEXT = "%04d-%02d-%02d %02d:%02d:%02d.%06d"  # the same, by position
_from_iso = datetime.fromisoformat


def _default_sqlite_format(impl: Any) -> bool:
    return getattr(impl, "_storage_format", None) == _SQLITE_FORMAT and impl._reg is None


def _aware_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: the store takes aware UTC datetimes")
    return value.astimezone(UTC)


def _sqlite_text_of(value: datetime | None) -> str | None:
    """UTCDateTime.process_bind_param, then SQLite DATETIME's bind processor."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: the store takes aware UTC datetimes")
    utc = value.astimezone(UTC)
    return _SQLITE_TEXT % (
        utc.year,
        utc.month,
        utc.day,
        utc.hour,
        utc.minute,
        utc.second,
        utc.microsecond,
    )


def _utc_of_sqlite_text(value: str | None) -> datetime | None:
    """SQLite DATETIME's result processor, then UTCDateTime.process_result_value."""
    if value is None:
        return None
    parsed = _from_iso(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


# SQLite only auto-increments an INTEGER PRIMARY KEY (the rowid).
EventId = BigInteger().with_variant(Integer(), "sqlite")

copies = Table(
    "copies",
    metadata,
    Column("copy_id", String(16), primary_key=True),
    Column("queue_id", String(64), nullable=False),
    Column("sent_at", UTCDateTime(), nullable=False),
    Column("sender", Text, nullable=False),
    Column("group", Text, nullable=False),
    Column("privacy", String(16), nullable=False),
    Column("campaign", Text),
    Column("variant", Text),
    Column("recipient", Text),  # personal mode only
    Column("domain", Text),  # personal and domain modes only
    Column("recipients", Integer, nullable=False, default=1),
    # Covers what stats read of a campaign's copies ("sent" per variant, group
    # and day): an index-only scan instead of a visit to every copy's row.
    Index("ix_copies_campaign_sent", "campaign", "variant", "group", "sent_at", "recipients"),
    Index("ix_copies_campaign_sent_at", "campaign", "sent_at"),  # a campaign's first copy
)

events = Table(
    "events",
    metadata,
    Column("id", EventId, primary_key=True, autoincrement=True),
    Column("copy_id", String(16), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("verdict", String(16), nullable=False),
    Column("target", Text),
    Column("ip", String(64)),  # only with privacy.store_ip = "truncated": /24 or /48
    # Why the verdict (tracker/store/records.py REASONS): never an address or an
    # agent. NULL on events stored before reasons existed: read as the verdict.
    Column("reason", String(32)),
    # No foreign key to copies: an event may arrive before its copy's sent fact
    # (the relay records asynchronously); stats join on copy_id.
    # (copy_id, at): the timing rules look for a copy's clicks within a second of
    # a batch's (tracker/store/timing.py); by copy_id alone they read every event
    # of the copy, a cost that grew with each copy's history.
    Index("ix_events_copy_id_at", "copy_id", "at"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", EventId, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("action", String(32), nullable=False),  # forget | purge
    # forget: the pseudonym of the forgotten address, never the address itself.
    Column("subject", Text),
    Column("rows", Integer, nullable=False),
    Column("detail", Text),  # e.g. "copies=3" or "events_deleted=10 copies_pseudonymised=2"
)

# The recipients' own choices, keyed by the recipient key (tracker/recipients.py):
# a keyed hash, never the address, so the lists name nobody to whoever reads them.
optouts = Table(
    "optouts",
    metadata,
    Column("recipient_key", String(32), primary_key=True),
    Column("choice", String(16), nullable=False),  # anonymous | untracked
    Column("at", UTCDateTime(), nullable=False),
    # The writers read the opt-outs made since their last look (withdrawal.py).
    Index("ix_optouts_at", "at"),
)

consents = Table(
    "consents",
    metadata,
    Column("recipient_key", String(32), primary_key=True),
    Column("at", UTCDateTime(), nullable=False),
)

# Proof of consent (GDPR Art. 7(1): the controller must be able to show it):
# one row per consent given or withdrawn, kept after a withdrawal. When, how
# (which page and button, or which admin command) and which version of the
# consent text was shown (tracker/consent.py); never an IP address or agent.
consent_receipts = Table(
    "consent_receipts",
    metadata,
    Column("id", EventId, primary_key=True, autoincrement=True),
    Column("recipient_key", String(32), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("action", String(16), nullable=False),  # given | withdrawn
    Column("how", String(64), nullable=False),  # e.g. "optout-page:give-consent-button"
    Column("text_version", String(80)),  # None: no text shown (an admin's command)
    Index("ix_consent_receipts_recipient_key", "recipient_key"),
)

# Interest profiles (tracker/store/interests.py): per recipient key and topic,
# the recipient's human clicks on that topic's links and the last one's time.
# Only for personal copies of recipients with recorded consent; erased with
# the consent, by an opt-out and by `forget`. No address: the recipient key.
interest_profiles = Table(
    "interest_profiles",
    metadata,
    Column("recipient_key", String(32), primary_key=True),
    Column("topic", String(64), primary_key=True),
    Column("clicks", Integer, nullable=False),
    Column("last_at", UTCDateTime(), nullable=False),
)


# The rollup's event counters (tracker/store/rollup.py): people's impressions,
# opens and clicks, opt-outs, machines' opens and clicks, and what the landing
# page script reports (page visits, link clicks, downloads).
COUNTERS = (
    "impressions",
    "opens",
    "clicks",
    "optouts",
    "machine_opens",
    "machine_clicks",
    "visits",
    "link_clicks",
    "downloads",
)
# The counters stats also count in copies ("unique": copies with one or more).
UNIQUE_COUNTERS = ("impressions", "opens", "clicks", "visits", "link_clicks", "downloads")


def _counters(names: tuple[str, ...]) -> list[Column]:
    return [Column(name, Integer, nullable=False, default=0) for name in names]


# The stats rollup: one row per copy with its event counters, kept up to date by
# the writer in the same transaction as the events (tracker/store/rollup.py).
# Stats then aggregate one row per copy instead of every event, and "unique"
# (distinct copies) is simply "counter > 0". Counted = human or proxy verdicts.
copy_counts = Table(
    "copy_counts",
    metadata,
    Column("copy_id", String(16), primary_key=True),
    *_counters(COUNTERS),
)

# The same counters per copy and UTC day the events happened on. "Unique" on a
# day is "counter > 0" in that day's row: the copies with such an event that day.
copy_day_counts = Table(
    "copy_day_counts",
    metadata,
    Column("copy_id", String(16), primary_key=True),
    Column("day", Date, primary_key=True),
    *_counters(COUNTERS),
)

# The per-copy rollups summed over the copies of a campaign, with the unique
# counts kept as counters too (a copy adds one to `unique_opens` when its own
# `opens` goes from 0 to more). A campaign's stats then read a few rows per
# variant and group, per day and per recipient domain, instead of a row per
# copy (and day). `sent` (recipients of the copies sent; per day: sent that
# UTC day) is added by a trigger on `copies` (migration 0012) in the
# transaction recording the copies, so no read counts the copies themselves.
# Keys are never NULL here: '' stands for "no campaign/variant/domain".
CAMPAIGN_COUNTERS = (*COUNTERS, *(f"unique_{name}" for name in UNIQUE_COUNTERS))


def _sent(name: str = "sent") -> Column:
    return Column(name, Integer, nullable=False, server_default="0")


campaign_counts = Table(
    "campaign_counts",
    metadata,
    Column("campaign", Text, primary_key=True),
    Column("variant", Text, primary_key=True),
    Column("group", Text, primary_key=True),
    *_counters(CAMPAIGN_COUNTERS),
    _sent(),
    _sent("copies"),  # how many copies (sent counts their recipients)
)

campaign_day_counts = Table(
    "campaign_day_counts",
    metadata,
    Column("campaign", Text, primary_key=True),
    Column("day", Date, primary_key=True),
    *_counters(CAMPAIGN_COUNTERS),
    _sent(),
)

# Per campaign and recipient domain: thousands of rows for a campaign (fewer
# than its copies), which each batch of events adds to like the rows above.
campaign_domain_counts = Table(
    "campaign_domain_counts",
    metadata,
    Column("campaign", Text, primary_key=True),
    Column("domain", Text, primary_key=True),
    *_counters(CAMPAIGN_COUNTERS),
    _sent(),
)

# Events per campaign, kind and reason (tracker/store/reasons.py): the campaign
# page's "people and machines, by reason" without reading the events. Kept by
# the writer with every batch like the rollups above ('' for no campaign);
# only impressions, opens and clicks of copies known when they are written.
campaign_reason_counts = Table(
    "campaign_reason_counts",
    metadata,
    Column("campaign", Text, primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("reason", String(32), primary_key=True),
    Column("events", Integer, nullable=False, default=0),
)

# Events written before their copy's sent fact (the relay records it
# asynchronously), which the campaign rollups could not place: stats add them
# through `copies` once the copy is there. Usually a handful of rows.
early_day_counts = Table(
    "early_day_counts",
    metadata,
    Column("copy_id", String(16), primary_key=True),
    Column("day", Date, primary_key=True),
    *_counters(COUNTERS),
)

# Batches of events stored (tracker/writer.py): a batch whose write failed after
# its COMMIT had reached the database is journaled and replayed, and its id here
# makes that replay store nothing twice. Rows go after a week (retention).
event_batches = Table(
    "event_batches",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("stored_at", UTCDateTime, nullable=False),
    Index("ix_event_batches_stored_at", "stored_at"),
)

# Throttles shared by every node on the store (tracker/store/throttle.py): failed
# AUTH and dashboard logins per key, and one-time claims (sender notices). The
# key is a SHA-256 of what it counts (an IP and a user name), never the name
# itself; times are unix seconds, since every node compares them. A row is
# dead once `expires_at` has passed and is deleted by the next write.
throttles = Table(
    "throttles",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Index("ix_throttles_expires_at", "expires_at"),
)

# Dashboard sessions ended by logout before their cookie expires: the cookie is
# signed, so without this a copied cookie would stay valid (tracker/dashboard/auth.py).
revoked_sessions = Table(
    "revoked_sessions",
    metadata,
    Column("nonce", String(64), primary_key=True),
    Column("expires_at", Float, nullable=False),
    Index("ix_revoked_sessions_expires_at", "expires_at"),
)
