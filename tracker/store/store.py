"""The store: SQLAlchemy 2 async engine over SQLite (default) or PostgreSQL.

One Store per process; relays and trackers on several nodes may share one
PostgreSQL database. Opening does not connect: a tracker starts (and keeps
redirecting clicks) while the database is still down.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import fields
from operator import attrgetter
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tracker.errors import TrackerError
from tracker.store import batches, queries, reasons, rollup, stats
from tracker.store.bulk import BulkInsert
from tracker.store.interests import Interests
from tracker.store.records import CopyRecord, EventRecord, with_verdict
from tracker.store.timing import BURST, SCANNER, TimingRules, reclassify
from tracker.store.withdrawal import Withdrawal

log = logging.getLogger("sigrelay.tracker.store")

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 5000
# Pages kept in memory per connection (negative: KiB). SQLite's default, 2 MiB,
# is less than the pages a batch of events touches (the copies' rows and
# counters, their recent clicks for the timing rules): every batch read them
# again from the OS, half the CPU of the timing rules' query. Memory only: up
# to 32 MiB per connection, taken as pages are read.
SQLITE_CACHE_KIB = 32 * 1024
# WAL pages written before a commit copies them back into the database file
# (SQLite's default: 1000). A batch of events rewrites hundreds of the same
# pages (the rollup's, the events' copy_id index): checkpointed every few
# batches instead of after every one, each page is copied back once for many
# commits. Same durability (every commit is still in the WAL, synced); the
# WAL grows to about 40 MiB instead of 4.
SQLITE_WAL_AUTOCHECKPOINT_PAGES = 10000


class StoreError(TrackerError):
    """The store was used wrongly (not for "the database is down": those pass through)."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the tracker read while the relay writes; the busy timeout makes a
    # second process wait for the lock instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_AUTOCHECKPOINT_PAGES}")
    cursor.close()


def _private_sqlite_file(database: str | None) -> None:
    """The SQLite file readable by its owner alone (0600), as are its -wal and
    -shm: they hold recipients' addresses. SQLite gives the -wal and -shm it
    creates the database file's mode, so creating the file 0600 first is
    enough; files an older version left 0644 are tightened here."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.parent.is_dir():
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        with contextlib.suppress(FileNotFoundError):
            if name.stat().st_mode & 0o077:
                name.chmod(0o600)


def _engine(url: str) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.drivername == "sqlite+aiosqlite":
        _private_sqlite_file(parsed.database)
        engine = create_async_engine(parsed)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.drivername == "postgresql+asyncpg":
        # Sessions in UTC, so that grouping by day means the UTC day on every node.
        settings = {"timezone": "UTC", "application_name": "sigrelay"}
        return create_async_engine(
            parsed, pool_pre_ping=True, connect_args={"server_settings": settings}
        )
    raise StoreError(
        f"store URL scheme {parsed.drivername!r} is not supported: "
        "use sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB"
    )


def _rows(records: list[CopyRecord] | list[EventRecord]) -> list[dict[str, Any]]:
    # Shallow: dataclasses.asdict deep-copies every datetime, which was most of
    # the CPU an event batch cost.
    return [dict(vars(record)) for record in records]


# The events insert runs with every batch the tracker writes: compiled once, rows as tuples.
_EVENT_COLUMNS = tuple(f.name for f in fields(EventRecord))
_event_values = attrgetter(*_EVENT_COLUMNS)
_INSERT_EVENTS = BulkInsert(queries.insert_events(), _EVENT_COLUMNS)


def _run_alembic(connection: Connection, action: str, revision: str) -> None:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    getattr(command, action)(cfg, revision)


class Store:
    """`timing`: judge clicks by their timing as events are written
    (timing.py); `withdrawal`: opt-outs reach the copies sent before
    (withdrawal.py); `interests`: consented recipients' clicks build their
    interest profiles (interests.py). The tracker's store has them; a relay's
    needs none."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        timing: TimingRules | None = None,
        withdrawal: Withdrawal | None = None,
        interests: Interests | None = None,
    ) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.timing = timing
        self.withdrawal = withdrawal
        self.interests = interests
        self._campaigns = reasons.CampaignOf()  # for the reason counts

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        timing: TimingRules | None = None,
        withdrawal: Withdrawal | None = None,
        interests: Interests | None = None,
    ) -> Store:
        """`sqlite+aiosqlite:///path` or `postgresql+asyncpg://...`; does not connect yet."""
        return cls(_engine(url), timing=timing, withdrawal=withdrawal, interests=interests)

    async def close(self) -> None:
        await self.engine.dispose()

    # --- schema ---------------------------------------------------------------

    async def upgrade(self, revision: str = "head") -> None:
        """Run the Alembic migrations up to `revision` (the newest by default)."""
        await self._migrate("upgrade", revision)

    async def downgrade(self, revision: str = "base") -> None:
        await self._migrate("downgrade", revision)

    async def _migrate(self, action: str, revision: str) -> None:
        async with self.engine.begin() as conn:
            # Nodes (or `db upgrade` beside a running service) may migrate at the
            # same moment: the first takes the lock, the others then find it done.
            if self.dialect == "postgresql":
                await conn.execute(queries.wait_for_migration_lock())
            else:
                await conn.exec_driver_sql("BEGIN IMMEDIATE")
            await conn.run_sync(_run_alembic, action, revision)
        log.info("store schema %s to %s", action, revision)

    # --- writing --------------------------------------------------------------

    async def record_copies(self, records: list[CopyRecord]) -> None:
        """Record sent facts; idempotent on copy_id."""
        if not records:
            return
        async with self.engine.begin() as conn:
            await conn.execute(queries.insert_copies_once(self.dialect), _rows(records))

    async def record_events(self, records: list[EventRecord], batch_id: str | None = None) -> None:
        """Record events, all in one transaction: every one of them or none.
        With a `batch_id`, a batch stored before (under that id) is not stored again."""
        if not records:
            return
        async with self.engine.begin() as conn:
            if batch_id is not None and not await batches.claim(conn, batch_id):
                return
            remarked: list[EventRecord] = []
            if self.timing is not None:
                reclassified = await reclassify(conn, records, self.timing)
                records, remarked = reclassified.records, reclassified.remarked
            if self.withdrawal is not None:
                # After the timing rules, which judge a copy by its own clicks.
                records = await self.withdrawal.apply(conn, records)
            await _INSERT_EVENTS.execute(conn, map(_event_values, records))
            if self.interests is not None:
                # After the withdrawal: what is stored is what may build a profile.
                await self.interests.add(conn, records, remarked)
            # Re-marked stored clicks move from the person's counters to the machine's.
            now_scanner = [with_verdict(r, SCANNER, BURST) for r in remarked]
            batch = [*records, *now_scanner]
            keys = await rollup.add_events(conn, batch, withdrawn=remarked)
            await reasons.add_reasons(conn, batch, remarked, self._campaigns, keys)

    # --- reading --------------------------------------------------------------

    async def ping(self) -> None:
        """Raises if the database cannot answer a trivial query."""
        async with self.engine.connect() as conn:
            await conn.execute(queries.store_is_reachable())

    async def stats(self, by: str | None = None, campaign: str | None = None) -> dict:
        """`{"totals": {...}, "rows": [{...}]}` as in docs/internals.md."""
        if by is not None and by not in queries.GROUPINGS:
            raise StoreError(f"stats by {by!r}: use one of {', '.join(queries.GROUPINGS)}")
        async with self.engine.connect() as conn:
            if by not in (None, "day"):
                # One pass over the rollup; every copy is in one row, so rows sum to totals.
                figures = await conn.execute(rollup.figures_per(by, campaign))
                # Plain dicts: thousands of rows (domains) read a field at a time.
                names = list(figures.keys())
                rows = {row[0]: dict(zip(names, row, strict=True)) for row in figures}
                return stats.from_rows(by, rows)
            total = (await conn.execute(rollup.figures_per(None, campaign))).mappings().one()
            result: dict[str, Any] = {"totals": stats.figures(total["sent"], total), "rows": []}
            if by == "day":
                # Copies count as sent on the day they were sent, events on the
                # day they happened (both in the per-day rollup), so rows need
                # not sum to the totals: a copy may have events on several days.
                per_day = {
                    row["key"].isoformat(): row
                    for row in (await conn.execute(rollup.counts_per(by, campaign))).mappings()
                }
                result["rows"] = stats.rows(
                    by, {day: row["sent"] for day, row in per_day.items()}, per_day
                )
        return result
