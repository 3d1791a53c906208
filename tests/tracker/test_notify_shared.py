"""Issue 14, finding 6: "one sender notice per copy and day" holds across
tracker nodes on one store (each process used to count alone)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from tracker.notify import SenderNotifier
from tracker.store import EventRecord, Store
from tracker.store.throttle import claim_once

COPY = {
    "c1": {"privacy": "personal", "recipient": "kim@customer.test", "group": "sales",
           "sender": "anna@example.com"},
}  # fmt: skip


class Outbox:
    def __init__(self) -> None:
        self.sent: list[tuple[str, tuple[str, ...]]] = []

    async def deliver(self, mail_from: str, rcpts, data: bytes) -> None:
        self.sent.append((mail_from, tuple(rcpts)))

    async def close(self) -> None:
        pass


async def _describe(ids: list[str]):
    return {i: COPY[i] for i in ids if i in COPY}


def _notifier(store: Store, outbox: Outbox) -> SenderNotifier:
    async def claim(key: str) -> bool:
        return await claim_once(store, key, time.time(), 2 * 86400)

    return SenderNotifier(
        _describe, outbox, notify_group=lambda _: True, hostname="relay.test", claim=claim
    )


async def test_two_nodes_seeing_clicks_of_one_copy_send_one_notice(open_store: Callable):
    node_a, node_b = await open_store(), await open_store()
    await node_a.upgrade()
    outbox = Outbox()
    click = EventRecord("c1", "click", datetime.now(UTC), "human", "https://example.com/")
    sent = [
        await _notifier(node_a, outbox).handle(click),
        await _notifier(node_b, outbox).handle(click),
    ]
    assert sent == [True, False]
    assert outbox.sent == [("", ("anna@example.com",))]


async def test_no_notice_about_a_recipient_who_opted_out_either_way(open_store: Callable):
    """A recipient who chose "do not track me" or "count me only anonymously"
    is never named to the sender for what they did after choosing."""
    from datetime import timedelta

    from tracker.store.optout import OptOutChoice
    from tracker.store.withdrawal import Withdrawn
    from tracker.webhooks import WITHDRAWN

    store = await open_store()
    await store.upgrade()
    now = datetime.now(UTC)
    for choice in (OptOutChoice.UNTRACKED, OptOutChoice.ANONYMOUS):
        withdrawn = {**COPY["c1"], WITHDRAWN: Withdrawn(choice, now - timedelta(hours=1))}

        async def describe(ids: list[str], copy=withdrawn):
            return {i: copy for i in ids}

        outbox = Outbox()

        async def claim(key: str) -> bool:
            return True

        notifier = SenderNotifier(
            describe, outbox, notify_group=lambda _: True, hostname="relay.test", claim=claim
        )
        click = EventRecord("c1", "click", now, "human", "https://example.com/")
        assert await notifier.handle(click) is False, choice
        assert outbox.sent == []
        before = EventRecord("c1", "click", now - timedelta(hours=2), "human", "https://x/")
        assert await notifier.handle(before) is True  # before the choice: as it was
