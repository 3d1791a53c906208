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
