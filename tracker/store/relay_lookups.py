"""The relay's look-up before planning: of these recipients, who opted out and
(where consent is required) who consented. Asked for a batch of messages at a
time (proxy/recipient_choices.py), on one connection, reading only the columns
the relay needs. Keys are recipient keys (tracker/recipients.py), never addresses.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from sqlalchemy import select

from tracker.store.models import consents, optouts

if TYPE_CHECKING:
    from tracker.store.store import Store

# Bounded IN lists (SQLite allows 32766 parameters, PostgreSQL 65535).
_CHUNK = 500


async def choices_of(
    store: Store, recipient_keys: Collection[str], with_consent: bool
) -> tuple[dict[str, str], set[str] | None]:
    """(recipient key -> opt-out choice for those who opted out, the keys with
    recorded consent or None when `with_consent` is false)."""
    wanted = sorted(set(recipient_keys))
    opted_out: dict[str, str] = {}
    consented: set[str] | None = set() if with_consent else None
    async with store.engine.connect() as conn:
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            rows = await conn.execute(
                select(optouts.c.recipient_key, optouts.c.choice).where(
                    optouts.c.recipient_key.in_(chunk)
                )
            )
            opted_out.update((key, choice) for key, choice in rows)
            if consented is not None:
                rows = await conn.execute(
                    select(consents.c.recipient_key).where(consents.c.recipient_key.in_(chunk))
                )
                consented.update(rows.scalars())
    return opted_out, consented
