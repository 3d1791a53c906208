"""Exactly-once event batches: the id of each batch is stored in the batch's
own transaction, so a batch is stored once however often it is written.

Why: when the connection drops after the COMMIT reached the database, the
writer sees a failure for a batch that is stored; it journals the batch and
replays it later (tracker/writer.py). With the id, that replay finds the batch
claimed and stores nothing; without one (journals of older versions) it would
store the batch twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from tracker.store.models import event_batches

# A journal that waits longer than this (the store down for a week) may store
# its ambiguous batches twice: the ids are forgotten to keep the table small.
KEEP = timedelta(days=7)

_CLAIM = {
    name: dialect.insert(event_batches).on_conflict_do_nothing(index_elements=["id"])
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}


async def claim(conn: AsyncConnection, batch_id: str) -> bool:
    """Record the batch as stored (inside its transaction); False if it was already."""
    now = datetime.now(UTC)
    result = await conn.execute(_CLAIM[conn.dialect.name], {"id": batch_id, "stored_at": now})
    return result.rowcount == 1


async def forget_old(conn: AsyncConnection, now: datetime) -> int:
    """Delete the ids of batches stored before `now - KEEP`; how many."""
    result = await conn.execute(delete(event_batches).where(event_batches.c.stored_at < now - KEEP))
    return result.rowcount
