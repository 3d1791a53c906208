"""Past behaviour for campaign follow-ups: who clicked which campaign.

Only personal-mode copies name their recipient, so only they can say who
clicked; a domain or anonymous copy never targets anyone by behaviour. The
relay plans synchronously, so it reads an in-memory map that a task refreshes
from the rollup (copies joined to copy_counts), limited to the campaigns some
follow-up campaign names: the map holds no more than follow-ups need.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable

from sqlalchemy import Select, select

from config.schema import PrivacyMode
from tracker.store.models import copies, copy_counts

log = logging.getLogger("sigrelay.tracker.behaviour")

REFRESH_SECONDS = 60.0


def clickers_of(campaigns: frozenset[str]) -> Select:
    """(recipient, campaign) of personal copies with a counted click in those campaigns."""
    joined = copies.join(copy_counts, copy_counts.c.copy_id == copies.c.copy_id)
    return (
        select(copies.c.recipient, copies.c.campaign)
        .select_from(joined)
        .where(
            copies.c.privacy == PrivacyMode.PERSONAL,
            copies.c.recipient.is_not(None),
            copies.c.campaign.in_(sorted(campaigns)),
            copy_counts.c.clicks > 0,
        )
        .distinct()
    )


class ClickHistory:
    def __init__(self, store, sources: Callable[[], frozenset[str]]) -> None:
        self.store = store
        self.sources = sources  # the campaigns follow-ups name, from the current config
        self._clicked: dict[str, frozenset[str]] = {}

    def clicked(self, recipient: str) -> frozenset[str]:
        return self._clicked.get(recipient.lower(), frozenset())

    async def refresh(self) -> None:
        sources = self.sources()
        if not sources:
            self._clicked = {}
            return
        found: dict[str, set[str]] = defaultdict(set)
        async with self.store.engine.connect() as conn:
            for recipient, campaign in await conn.execute(clickers_of(sources)):
                found[recipient.lower()].add(campaign)
        self._clicked = {r: frozenset(c) for r, c in found.items()}

    async def run(self, interval: float = REFRESH_SECONDS) -> None:
        while True:
            try:
                await self.refresh()
            except Exception as exc:  # store down: keep what we knew
                log.warning("click history not refreshed: %s", exc)
            await asyncio.sleep(interval)
