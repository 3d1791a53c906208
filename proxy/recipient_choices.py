"""What each recipient allows: their opt-out and, where required, their consent.

Looked up in the store before planning (planning itself is synchronous and
pure); the answer is a cap per recipient for the fan-out (proxy/fanout.py).

Messages planned at the same time share one look-up: while a query runs, the
recipients of every message that comes up are gathered, and the next query asks
for all of them at once (one query per batch instead of one per message, under
load the largest part of planning's cost). Nothing is cached: every message is
looked up after it came up, so an opt-out counts from the next message planned
after it was stored.

If the store cannot answer in time, we do not know who opted out, so everyone
is treated as having opted out entirely: a missed tracking tag costs a
statistic, a tag on an opted-out recipient breaks a promise.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from config.schema import PrivacyMode, PrivacySection
from proxy.fanout import lower_mode
from tracker.recipients import recipient_key
from tracker.store import Store
from tracker.store.optout import OptOutChoice
from tracker.store.relay_lookups import choices_of

log = logging.getLogger("sigrelay.proxy.recipient_choices")

LOOKUP_TIMEOUT = 5.0
Caps = dict[str, PrivacyMode]  # lower-cased address -> the most tracking that recipient allows
Found = tuple[dict[str, str], set[str] | None]  # opt-outs by key, consented keys


class ChoiceSource(Protocol):
    """What the planner asks about recipients: `RecipientChoices` (the store's
    lists), or a preview's stand-in that looks nothing up (proxy/preview.py)."""

    pseudonym_key: bytes  # names a recipient in the opt-out token of a shared copy

    async def caps(
        self, rcpts: Iterable[str], privacy: PrivacySection, is_internal: Callable[[str], bool]
    ) -> Caps: ...


def cap_for(choice: str | None, consented: bool | None, privacy: PrivacySection) -> PrivacyMode:
    """`choice`: the opt-out (None: none); `consented`: None when consent is not required."""
    cap = PrivacyMode.PERSONAL
    if consented is False:
        cap = PrivacyMode(privacy.without_consent)
    if choice is not None:
        cap = lower_mode(cap, OptOutChoice(choice).mode)
    return cap


@dataclass
class _Batch:
    """The recipient keys of the messages waiting for the next query."""

    result: asyncio.Future[Found]
    keys: set[str] = field(default_factory=set)
    with_consent: bool = False


class RecipientChoices:
    def __init__(self, store: Store, pseudonym_key: bytes, timeout: float = LOOKUP_TIMEOUT) -> None:
        self.store = store
        self.pseudonym_key = pseudonym_key
        self.timeout = timeout
        self._next: _Batch | None = None  # gathering while a query runs
        self._querying: asyncio.Task[None] | None = None

    async def caps(
        self, rcpts: Iterable[str], privacy: PrivacySection, is_internal: Callable[[str], bool]
    ) -> Caps:
        external = {r.lower() for r in rcpts if not is_internal(r)}
        if not external:
            return {}
        keys = {address: recipient_key(address, self.pseudonym_key) for address in external}
        try:
            async with asyncio.timeout(self.timeout):
                choices, consented = await self._look_up(keys.values(), privacy.require_consent)
        except Exception as exc:
            log.warning(
                "opt-out list unavailable (%s): %d recipients sent untracked", exc, len(keys)
            )
            return {address: PrivacyMode.OFF for address in keys}
        # A shared batch may have looked up consent for another message only.
        if not privacy.require_consent or consented is None:
            return {
                address: cap_for(choices.get(key), None, privacy) for address, key in keys.items()
            }
        return {
            address: cap_for(choices.get(key), key in consented, privacy)
            for address, key in keys.items()
        }

    async def _look_up(self, keys: Iterable[str], with_consent: bool) -> Found:
        batch = self._next
        if batch is None:
            batch = self._next = _Batch(asyncio.get_running_loop().create_future())
            # Read by whoever awaits it; if all of them gave up, nobody is told twice.
            batch.result.add_done_callback(lambda f: f.cancelled() or f.exception())
        batch.keys.update(keys)
        batch.with_consent |= with_consent
        if self._querying is None or self._querying.done():
            self._querying = asyncio.create_task(self._query(), name="sigrelay-choices")
        # Shielded: one message giving up (its timeout) must not cancel the others' query.
        return await asyncio.shield(batch.result)

    async def _query(self) -> None:
        while self._next is not None:
            batch, self._next = self._next, None
            try:
                async with asyncio.timeout(self.timeout):
                    found = await choices_of(self.store, batch.keys, batch.with_consent)
            except Exception as exc:
                batch.result.set_exception(exc)
            else:
                batch.result.set_result(found)


def cap_of(caps: Caps) -> Callable[[str], PrivacyMode]:
    """The fan-out's `cap`: a recipient not in `caps` allows everything."""

    def cap(address: str) -> PrivacyMode:
        return caps.get(address.lower(), PrivacyMode.PERSONAL)

    return cap
