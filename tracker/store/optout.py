"""Queries of the recipients' own choices: the opt-out list and the consent list.

Both are keyed by the recipient key (tracker/recipients.py), never by the
address, so neither list names anybody to whoever reads the database. Opting
back in, or withdrawing consent, deletes the row: nothing is kept of a choice
that no longer holds, except the consent receipts (when, how, which text:
GDPR Art. 7(1) asks the controller to be able to show a consent was given).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from config.schema import PrivacyMode
from tracker.store import interests
from tracker.store.models import consent_receipts, consents, copies, optouts

if TYPE_CHECKING:
    from tracker.store.store import Store


class OptOutChoice(StrEnum):
    """What a recipient chose on the opt-out page. The values are the words the
    optouts table, the page's form, the API and `sigrelay optout` have always
    used; `mode` is the privacy mode the choice caps that recipient's copies to."""

    ANONYMOUS = "anonymous"  # "count me only anonymously"
    UNTRACKED = "untracked"  # "do not track me at all"

    @property
    def mode(self) -> PrivacyMode:
        return PrivacyMode.OFF if self is OptOutChoice.UNTRACKED else PrivacyMode.ANONYMOUS

    @classmethod
    def capped_to(cls, mode: str) -> OptOutChoice:
        """The choice that stands for a cap: what `privacy.without_consent`
        (anonymous | off) makes of a recipient who withdrew consent."""
        return cls.UNTRACKED if mode == PrivacyMode.OFF else cls.ANONYMOUS


GIVEN, WITHDRAWN = "given", "withdrawn"  # consent receipts' actions
ADMIN = "admin"  # how: by an admin's command, no text shown to the recipient
OPTOUT_CHOICES = tuple(OptOutChoice)  # in the order the page offers them
# Bounded IN lists: a message has at most relay.max_recipients recipients anyway.
_CHUNK = 500


@dataclass(frozen=True)
class OptOut:
    recipient_key: str
    choice: OptOutChoice
    at: datetime


@dataclass(frozen=True)
class Consent:
    recipient_key: str
    at: datetime


@dataclass(frozen=True)
class ConsentReceipt:
    recipient_key: str
    at: datetime
    action: str  # given | withdrawn
    how: str  # which page and button, or "admin" (sigrelay consent ...)
    text_version: str | None  # the consent text shown (tracker/consent.py)


def _upsert(store: Store, table: Table, row: dict):
    dialect = postgresql if store.dialect == "postgresql" else sqlite
    update = {k: v for k, v in row.items() if k != "recipient_key"}
    return (
        dialect.insert(table)
        .values(**row)
        .on_conflict_do_update(index_elements=["recipient_key"], set_=update)
    )


async def _delete(store: Store, table: Table, recipient_key: str) -> bool:
    async with store.engine.begin() as conn:
        result = await conn.execute(delete(table).where(table.c.recipient_key == recipient_key))
    return result.rowcount > 0


async def _keys_in(store: Store, table: Table, keys: Iterable[str]) -> dict[str, tuple]:
    wanted = sorted(set(keys))
    found: dict[str, tuple] = {}
    async with store.engine.connect() as conn:
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            rows = await conn.execute(select(table).where(table.c.recipient_key.in_(chunk)))
            found.update({row.recipient_key: tuple(row) for row in rows})
    return found


# --- opt-outs ---------------------------------------------------------------


async def opt_out(store: Store, recipient_key: str, choice: str, at: datetime) -> None:
    """Record (or change) a recipient's opt-out."""
    if choice not in OPTOUT_CHOICES:
        raise ValueError(f"opt-out choice {choice!r}: use {' or '.join(OPTOUT_CHOICES)}")
    row = {"recipient_key": recipient_key, "choice": choice, "at": at}
    async with store.engine.begin() as conn:
        await conn.execute(_upsert(store, optouts, row))
        # An objection ends profiling too (GDPR Art. 21(2)): the profile goes.
        await interests.erase(conn, recipient_key)


async def opt_in(store: Store, recipient_key: str) -> bool:
    """Opt back in: the row goes. False if the recipient had not opted out."""
    return await _delete(store, optouts, recipient_key)


async def optouts_of(store: Store, recipient_keys: Iterable[str]) -> dict[str, str]:
    """recipient key -> choice, for those of the given keys that opted out."""
    rows = await _keys_in(store, optouts, recipient_keys)
    return {key: row[1] for key, row in rows.items()}


async def list_optouts(store: Store) -> list[OptOut]:
    async with store.engine.connect() as conn:
        rows = await conn.execute(select(optouts).order_by(optouts.c.at, optouts.c.recipient_key))
        return [OptOut(key, OptOutChoice(choice), at) for key, choice, at in rows]


# --- consent ----------------------------------------------------------------


async def add_consent(
    store: Store,
    recipient_key: str,
    at: datetime,
    how: str = ADMIN,
    text_version: str | None = None,
) -> None:
    """Record consent, and its receipt. Given on the recipient's own page, it
    also ends an opt-out of theirs: the newest choice is the one that holds."""
    async with store.engine.begin() as conn:
        await conn.execute(_upsert(store, consents, {"recipient_key": recipient_key, "at": at}))
        if how != ADMIN:
            await conn.execute(delete(optouts).where(optouts.c.recipient_key == recipient_key))
        await conn.execute(_receipt(recipient_key, at, GIVEN, how, text_version))


async def remove_consent(
    store: Store,
    recipient_key: str,
    at: datetime | None = None,
    how: str = ADMIN,
    text_version: str | None = None,
    then: str | None = None,
) -> bool:
    """Withdraw consent, with a receipt; False (and nothing done) if there was
    none. `then`: the opt-out choice that holds from now on, also for copies
    sent before (tracker/store/withdrawal.py): what `privacy.without_consent` gives."""
    at = at or datetime.now(UTC)
    async with store.engine.begin() as conn:
        result = await conn.execute(
            delete(consents).where(consents.c.recipient_key == recipient_key)
        )
        if result.rowcount:
            # Built only on this consent (tracker/store/interests.py): it goes with it.
            await interests.erase(conn, recipient_key)
            if then is not None:
                row = {"recipient_key": recipient_key, "choice": then, "at": at}
                await conn.execute(_upsert(store, optouts, row))
            await conn.execute(_receipt(recipient_key, at, WITHDRAWN, how, text_version))
    return result.rowcount > 0


def _receipt(recipient_key: str, at: datetime, action: str, how: str, version: str | None):
    return insert(consent_receipts).values(
        recipient_key=recipient_key, at=at, action=action, how=how[:64], text_version=version
    )


async def list_consent_receipts(store: Store) -> list[ConsentReceipt]:
    """Every receipt, oldest first (`sigrelay consent export`)."""
    query = select(
        consent_receipts.c.recipient_key,
        consent_receipts.c.at,
        consent_receipts.c.action,
        consent_receipts.c.how,
        consent_receipts.c.text_version,
    ).order_by(consent_receipts.c.at, consent_receipts.c.id)
    async with store.engine.connect() as conn:
        return [ConsentReceipt(*row) for row in await conn.execute(query)]


async def consents_of(store: Store, recipient_keys: Iterable[str]) -> set[str]:
    """Those of the given keys with recorded consent."""
    return set(await _keys_in(store, consents, recipient_keys))


async def list_consents(store: Store) -> list[Consent]:
    async with store.engine.connect() as conn:
        rows = await conn.execute(
            select(consents).order_by(consents.c.at, consents.c.recipient_key)
        )
        return [Consent(*row) for row in rows]


# --- the copy an opt-out link came from ----------------------------------------


async def recipient_of_copy(store: Store, copy_id: str) -> str | None:
    """What the copy's row holds about its recipient (an address or its
    pseudonym), or None if there is no such copy or it names nobody."""
    async with store.engine.connect() as conn:
        result = await conn.execute(select(copies.c.recipient).where(copies.c.copy_id == copy_id))
        return result.scalar_one_or_none()
