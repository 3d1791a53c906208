"""Forgetting a recipient and applying the retention policy (GDPR Art. 17, 5(1)(e)).

Forget replaces a recipient's address by its pseudonym (tracker/pseudonym.py)
in every column that holds addresses: irreversible without the key, and the
person's rows still count together in stats. The domain stays: it is what the
`domain` privacy mode keeps about everyone anyway, and stats by domain stay
right. Purge pseudonymises the addresses of copies older than
`retention_days` and deletes events older than `event_retention_days`.

Each run writes one `audit_log` row (when, what, how many rows), naming the
forgotten person only by pseudonym: the log itself must not undo the forgetting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Column, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from tracker.pseudonym import PREFIX, normalise, pseudonym
from tracker.recipients import recipient_key
from tracker.store import batches, interests
from tracker.store.models import audit_log, copies, events, optouts
from tracker.store.optout import OptOutChoice

if TYPE_CHECKING:
    from tracker.store.store import Store

log = logging.getLogger("sigrelay.tracker.retention")

DAY = 86400.0
FIRST_RUN_DELAY = 60.0  # shortly after start, once the node has settled

# Every column that may hold a recipient's address in clear. A table that
# stores addresses adds its column here, so forget and purge reach it.
ADDRESS_COLUMNS: list[Column] = [copies.c.recipient]


@dataclass(frozen=True)
class Forgotten:
    subject: str  # the pseudonym that now stands for the address
    rows: int  # rows changed, over all tables


@dataclass(frozen=True)
class Purged:
    copies_pseudonymised: int
    events_deleted: int

    @property
    def rows(self) -> int:
        return self.copies_pseudonymised + self.events_deleted


async def forget(store: Store, address: str, key: bytes, now: datetime | None = None) -> Forgotten:
    """Pseudonymise `address` everywhere, in one transaction, and log that it happened."""
    subject = pseudonym(address, key)
    clear = normalise(address)
    changed = 0
    async with store.engine.begin() as conn:
        for column in ADDRESS_COLUMNS:
            result = await conn.execute(
                update(column.table)
                .where(func.lower(column) == clear)
                .values({column.name: subject})
            )
            changed += result.rowcount or 0
        # Retroactive (issue 16, GDPR Art. 17 and 21): later events from the copies
        # sent before count only anonymously (tracker/store/withdrawal.py), and
        # later mail gets no personal copy. A choice already made stays (it may
        # be stricter: "do not track me").
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        row = {"recipient_key": recipient_key(address, key), "at": _now(now)}
        await conn.execute(
            dialect.insert(optouts)
            .values(**row, choice=OptOutChoice.ANONYMOUS)
            .on_conflict_do_nothing(index_elements=["recipient_key"])
        )
        # The interest profile is erased, not pseudonymised: it is about the person.
        changed += await interests.erase(conn, row["recipient_key"])
        await _audit(conn, now, "forget", subject, changed, f"tables={_table_names()}")
    return Forgotten(subject, changed)


async def purge(
    store: Store,
    key: bytes,
    retention_days: int,
    event_retention_days: int,
    now: datetime | None = None,
) -> Purged:
    """Apply the retention policy as of `now`; safe to run again (and on several nodes)."""
    now = now or datetime.now(UTC)
    copies_before = now - timedelta(days=retention_days)
    events_before = now - timedelta(days=event_retention_days)
    async with store.engine.begin() as conn:
        pseudonymised = 0
        # Rows keyed by address, not one update per row: one person usually has many copies.
        old = (
            select(copies.c.recipient)
            .distinct()
            .where(
                copies.c.sent_at < copies_before,
                copies.c.recipient.is_not(None),
                copies.c.recipient.not_like(f"{PREFIX}%"),
            )
        )
        for address in (await conn.execute(old)).scalars().all():
            result = await conn.execute(
                update(copies)
                .where(copies.c.recipient == address, copies.c.sent_at < copies_before)
                .values(recipient=pseudonym(address, key))
            )
            pseudonymised += result.rowcount or 0
        deleted = (await conn.execute(delete(events).where(events.c.at < events_before))).rowcount
        await batches.forget_old(conn, now)  # housekeeping: no personal data in it
        purged = Purged(pseudonymised, deleted or 0)
        detail = (
            f"copies_pseudonymised={purged.copies_pseudonymised} "
            f"events_deleted={purged.events_deleted} "
            f"retention_days={retention_days} event_retention_days={event_retention_days}"
        )
        await _audit(conn, now, "purge", None, purged.rows, detail)
    return purged


async def audit_entries(store: Store) -> list[dict]:
    """The audit log, oldest first."""
    async with store.engine.connect() as conn:
        rows = await conn.execute(select(audit_log).order_by(audit_log.c.id))
        return [dict(row) for row in rows.mappings()]


async def _audit(
    conn: AsyncConnection,
    now: datetime | None,
    action: str,
    subject: str | None,
    rows: int,
    detail: str,
) -> None:
    entry = {"at": _now(now), "action": action, "subject": subject}
    await conn.execute(insert(audit_log).values(**entry, rows=rows, detail=detail))


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _table_names() -> str:
    return ",".join(sorted({column.table.name for column in ADDRESS_COLUMNS}))


async def purge_daily(
    store: Store,
    key: bytes,
    retention_days: int,
    event_retention_days: int,
    first_delay: float = FIRST_RUN_DELAY,
    interval: float = DAY,
    on_run: Callable[[Purged], None] | None = None,
) -> None:
    """Run `purge` shortly after start, then every `interval` seconds, until
    cancelled. A failed run (store down) is logged and tried at the next turn."""
    await asyncio.sleep(first_delay)
    while True:
        try:
            purged = await purge(store, key, retention_days, event_retention_days)
            log.info(
                "retention applied copies_pseudonymised=%d events_deleted=%d",
                purged.copies_pseudonymised,
                purged.events_deleted,
            )
            if on_run is not None:
                on_run(purged)
        except Exception as exc:
            log.warning("retention run failed, next in %.0fs: %s", interval, exc)
        await asyncio.sleep(interval)
