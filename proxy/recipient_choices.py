"""What each recipient allows: their opt-out and, where required, their consent.

Looked up in the store once per message, before planning (planning itself
is synchronous and pure); the answer is a cap per recipient for the fan-out
(proxy/fanout.py). If the store cannot answer in time, we do not know who
opted out, so everyone is treated as having opted out entirely: a missed
tracking tag costs a statistic, a tag on an opted-out recipient breaks a promise.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from config.schema import PrivacySection
from proxy.fanout import ANONYMOUS, OFF, PERSONAL, lower_mode
from tracker.recipients import recipient_key
from tracker.store import Store
from tracker.store.optout import UNTRACKED, consents_of, optouts_of

log = logging.getLogger("sigrelay.proxy.recipient_choices")

LOOKUP_TIMEOUT = 5.0
Caps = dict[str, str]  # lower-cased address -> the most tracking that recipient allows


def cap_for(choice: str | None, consented: bool | None, privacy: PrivacySection) -> str:
    """`choice`: the opt-out (None: none); `consented`: None when consent is not required."""
    cap = PERSONAL
    if consented is False:
        cap = privacy.without_consent
    if choice == UNTRACKED:
        return OFF
    if choice is not None:
        cap = lower_mode(cap, ANONYMOUS)
    return cap


class RecipientChoices:
    def __init__(self, store: Store, pseudonym_key: bytes, timeout: float = LOOKUP_TIMEOUT) -> None:
        self.store = store
        self.pseudonym_key = pseudonym_key
        self.timeout = timeout

    async def caps(
        self, rcpts: Iterable[str], privacy: PrivacySection, is_internal: Callable[[str], bool]
    ) -> Caps:
        external = {r.lower() for r in rcpts if not is_internal(r)}
        if not external:
            return {}
        keys = {address: recipient_key(address, self.pseudonym_key) for address in external}
        try:
            async with asyncio.timeout(self.timeout):
                choices = await optouts_of(self.store, keys.values())
                consented = (
                    await consents_of(self.store, keys.values())
                    if privacy.require_consent
                    else None
                )
        except Exception as exc:
            log.warning(
                "opt-out list unavailable (%s): %d recipients sent untracked", exc, len(keys)
            )
            return {address: OFF for address in keys}
        return {
            address: cap_for(
                choices.get(key), None if consented is None else key in consented, privacy
            )
            for address, key in keys.items()
        }


def cap_of(caps: Caps) -> Callable[[str], str]:
    """The fan-out's `cap`: a recipient not in `caps` allows everything."""

    def cap(address: str) -> str:
        return caps.get(address.lower(), PERSONAL)

    return cap
