"""Retroactive withdrawal: a recipient's opt-out reaches the copies they got before.

GDPR Art. 21(3) (after an objection the data "shall no longer be processed"),
Art. 7(3) (withdrawing consent as easy as giving it), and the French CNIL's
recommendation 2026-042 (withdrawal stops tracking on mail already sent): from
the moment a recipient opts out, events from any earlier copy of theirs are

- not stored at all ("do not track me": choice `untracked`), or
- stored without the copy's identity ("count me only anonymously": choice
  `anonymous`): against a stand-in copy that keeps the campaign, variant,
  group and sender but names no recipient and no domain, so the campaign's
  figures still count the event and nothing ties it to the person.

The opt-out event itself is kept as it is: it is the record of the objection.

Cheap on the writer's path: the opt-out list (recipient keys, choices and
times) is held in memory. Every `refresh_seconds` the writer reads the
opt-outs recorded since the newest it knows (less `CLOCK_SKEW`, for nodes
whose clocks differ; by the `ix_optouts_at` index), so an opt-out made on
another node applies here within that time; every `full_refresh_seconds` it
reads the whole list, which is when an opt-in (a deleted row) is seen: until
then, for up to a minute, the stricter choice holds. A copy's recipient key
(tracker/recipients.py: a prefix of the pseudonym, so it survives `forget`
and retention) never changes and is cached. With nobody opted out, a batch costs one dict check.

Limits: only personal copies name their recipient in the store. Domain and
anonymous copies are shared by several recipients and name nobody, so
nothing of them can be withdrawn for one person (and they hold nothing that
identifies one). An event whose copy's sent fact has not arrived yet (the
relay records it asynchronously) is stored as it comes.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from config.schema import PrivacyMode
from tracker.recipients import recipient_key_of_stored
from tracker.store.idlists import among, per_dialect
from tracker.store.models import copies, optouts
from tracker.store.optout import OptOutChoice
from tracker.store.records import EventRecord, event_record

if TYPE_CHECKING:
    from tracker.store.store import Store

DEFAULT_REFRESH_SECONDS = 2.0
FULL_REFRESH_SECONDS = 60.0
CLOCK_SKEW = timedelta(minutes=5)
COPY_CACHE_SIZE = 200_000  # copy id -> recipient key; ~30 MB at most
STANDIN_QUEUE_ID = "withdrawn"  # the queue id of stand-in copies: no message of ours

_OPTOUTS = select(optouts.c.recipient_key, optouts.c.choice, optouts.c.at)
_OPTOUTS_SINCE = _OPTOUTS.where(optouts.c.at >= bindparam("since", type_=optouts.c.at.type))
# The batch's copies as one bound list (tracker/store/idlists.py).
_RECIPIENTS = per_dialect(
    lambda dialect: select(copies.c.copy_id, copies.c.recipient).where(
        among(copies.c.copy_id, String, dialect)
    )
)
_COPY_FACTS = per_dialect(
    lambda dialect: select(
        copies.c.copy_id,
        copies.c.sent_at,
        copies.c.sender,
        copies.c.group,
        copies.c.campaign,
        copies.c.variant,
    ).where(among(copies.c.copy_id, String, dialect))
)


@dataclass(frozen=True)
class Withdrawn:
    choice: str  # anonymous | untracked
    at: datetime  # from this moment on


class Withdrawal:
    """Applies the opt-out list to batches of events (Store.record_events).
    Pickled for the writer process: only the key and the interval travel."""

    def __init__(
        self,
        pseudonym_key: bytes,
        refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pseudonym_key = pseudonym_key
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self.full_refresh_seconds = max(refresh_seconds, FULL_REFRESH_SECONDS)
        self._withdrawn: dict[str, Withdrawn] = {}
        self._loaded_at: float | None = None  # the last look at the list
        self._full_at: float | None = None  # the last reading of all of it
        self._newest: datetime | None = None  # the newest opt-out time seen
        self._key_of_copy: dict[str, str | None] = {}
        self._standin_of_copy: dict[str, dict[str, Any]] = {}  # copy id -> its stand-in's row
        self.dropped = 0  # events not stored ("do not track me")
        self.anonymised = 0  # events stored against a stand-in copy

    def __reduce__(self) -> tuple[Any, ...]:
        return (Withdrawal, (self.pseudonym_key, self.refresh_seconds))

    def expire(self) -> None:
        """Read all of the opt-out list again before the next batch."""
        self._loaded_at = self._full_at = None

    async def _refresh(self, conn: AsyncConnection, now: float) -> None:
        full = self._full_at is None or now - self._full_at >= self.full_refresh_seconds
        if full or self._newest is None:
            rows = (await conn.execute(_OPTOUTS)).all()
            self._withdrawn = {key: Withdrawn(choice, at) for key, choice, at in rows}
            self._full_at = now
        else:
            since = {"since": self._newest - CLOCK_SKEW}
            rows = (await conn.execute(_OPTOUTS_SINCE, since)).all()
            self._withdrawn.update((key, Withdrawn(choice, at)) for key, choice, at in rows)
        if rows:
            newest = max(at for _, _, at in rows)
            self._newest = newest if self._newest is None else max(self._newest, newest)
        self._loaded_at = now

    async def apply(self, conn: AsyncConnection, records: list[EventRecord]) -> list[EventRecord]:
        """The batch as it may be stored: withdrawn recipients' events left out,
        or moved to stand-in copies (recorded here, in the batch's transaction)."""
        now = self.clock()
        if self._loaded_at is None or now - self._loaded_at >= self.refresh_seconds:
            await self._refresh(conn, now)
        if not self._withdrawn:
            return records
        keys = await self._keys(conn, {r.copy_id for r in records if r.kind != "optout"})
        kept: list[EventRecord] = []
        moved: list[int] = []  # positions in `kept` of events to move to a stand-in
        withdrawn = self._withdrawn
        for record in records:
            key = keys.get(record.copy_id)
            choice = withdrawn.get(key) if key is not None else None
            if choice is None or record.kind == "optout" or record.at < choice.at:
                kept.append(record)
            elif choice.choice == OptOutChoice.UNTRACKED:
                self.dropped += 1
            else:
                moved.append(len(kept))
                kept.append(record)
        if moved:
            await self._move_to_standins(conn, kept, moved)
            kept = [record for record in kept if record is not None]
        return kept

    async def _keys(self, conn: AsyncConnection, copy_ids: set[str]) -> dict[str, str | None]:
        cache = self._key_of_copy
        missing = [copy_id for copy_id in copy_ids if copy_id not in cache]
        if missing:
            if len(cache) + len(missing) > COPY_CACHE_SIZE:
                cache.clear()  # bounded memory; the keys are read again as needed
            query = _RECIPIENTS[conn.dialect.name]
            for copy_id, recipient in (await conn.execute(query, {"ids": missing})).all():
                # None: a domain or anonymous copy, which names nobody.
                cache[copy_id] = (
                    recipient_key_of_stored(recipient, self.pseudonym_key) if recipient else None
                )
        # A copy not recorded yet stays out of the cache: asked again next batch.
        return {copy_id: cache.get(copy_id) for copy_id in copy_ids}

    async def _move_to_standins(
        self, conn: AsyncConnection, kept: list[EventRecord], moved: list[int]
    ) -> None:
        # A copy's stand-in never changes: its row is read once per copy.
        standins = self._standin_of_copy
        ids = sorted({kept[i].copy_id for i in moved} - standins.keys())
        if ids:
            if len(standins) + len(ids) > COPY_CACHE_SIZE:
                standins.clear()
            for fact in (await conn.execute(_COPY_FACTS[conn.dialect.name], {"ids": ids})).all():
                standins[fact[0]] = _standin_row(*fact[1:])
        # Recorded in every batch that uses them (a few rows, nothing if there):
        # a batch that fails after this is retried whole, with its stand-ins.
        rows = {row["copy_id"]: row for i in moved if (row := standins.get(kept[i].copy_id))}
        await _record_standins(conn, [rows[key] for key in sorted(rows)])
        for i in moved:
            r = kept[i]
            row = standins.get(r.copy_id)
            if row is None:  # no sent fact to count it by: not stored rather than named
                kept[i] = None  # type: ignore[call-overload]
                continue
            kept[i] = event_record(
                row["copy_id"], r.kind, r.at, r.verdict, r.target, None, r.reason
            )
            self.anonymised += 1


async def withdrawn_copies(
    store: Store, pseudonym_key: bytes, recipients: Mapping[str, str | None]
) -> dict[str, Withdrawn]:
    """Of these copies (copy id -> the recipient their row holds), those whose
    recipient opted out, with the choice and its moment (for webhooks)."""
    key_of = {
        copy_id: recipient_key_of_stored(recipient, pseudonym_key)
        for copy_id, recipient in recipients.items()
        if recipient
    }
    if not key_of:
        return {}
    query = _OPTOUTS.where(optouts.c.recipient_key.in_(sorted(set(key_of.values()))))
    async with store.engine.connect() as conn:
        found = {key: Withdrawn(choice, at) for key, choice, at in await conn.execute(query)}
    return {copy_id: found[key] for copy_id, key in key_of.items() if key in found}


def _standin_row(
    sent_at: datetime, sender: str, group: str, campaign: str | None, variant: str | None
) -> dict[str, Any]:
    return {
        "copy_id": standin_copy_id(campaign, variant, group, sender),
        "queue_id": STANDIN_QUEUE_ID,
        "sent_at": sent_at,
        "sender": sender,
        "group": group,
        "privacy": PrivacyMode.ANONYMOUS,
        "campaign": campaign,
        "variant": variant,
        "recipient": None,
        "domain": None,
        "recipients": 0,  # sent to nobody: "sent" figures stay as they were
    }


async def _record_standins(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(copies).on_conflict_do_nothing(index_elements=["copy_id"])
    await conn.execute(insert, rows)


async def standin_for(store: Store, copy_id: str) -> str | None:
    """The stand-in copy of `copy_id`'s campaign (recorded if new), or None if
    the store does not know the copy: for events that must not name their copy
    (a landing page visit with Global Privacy Control, tracker/landing.py)."""
    async with store.engine.begin() as conn:
        fact = (await conn.execute(_COPY_FACTS[conn.dialect.name], {"ids": [copy_id]})).first()
        if fact is None:
            return None
        row = _standin_row(*fact[1:])
        await _record_standins(conn, [row])
        return row["copy_id"]


def standin_copy_id(campaign: str | None, variant: str | None, group: str, sender: str) -> str:
    """The stand-in copy of a campaign, variant, group and sender: 16 hex
    characters like a copy id, the same on every node."""
    text = "\x1f".join(("standin", campaign or "", variant or "", group, sender))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
