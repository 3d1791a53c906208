"""Helpers of the proxy tests: a real SMTP client (smtplib) and small messages."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import Callable
from ipaddress import ip_network
from typing import TYPE_CHECKING

from proxy.server import RelayPolicy
from proxy.state import CopyState, MessageState

if TYPE_CHECKING:
    from proxy.delivery import DeliveryWorker

LOOPBACK = (ip_network("127.0.0.0/8"),)
SOMEWHERE_ELSE = (ip_network("192.0.2.0/24"),)  # TEST-NET-1: the test client is never in it


def message(sender: str = "anna.schmidt@example.com", to: str = "kim@customer.test") -> bytes:
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: Our offer\r\n"
        "Message-ID: <offer-1@example.com>\r\n\r\nHello,\r\n\r\nplease find our offer.\r\n"
    ).encode()


async def smtp_send(
    port: int, sender: str, rcpts: list[str], data: bytes | None = None
) -> dict[str, tuple[int, bytes]]:
    """Send with smtplib (a real SMTP client) in a thread; the refused recipients.
    Raises smtplib's exceptions exactly as a client program would see them."""

    def send() -> dict:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            return client.sendmail(sender, rcpts, data or message(sender, rcpts[0]))

    return await asyncio.to_thread(send)


def policy(
    trusted=LOOPBACK, max_recipients: int = 100, max_size: int = 1_000_000
) -> Callable[[], RelayPolicy]:
    """A RelayHandler's `policy`: the same one for every session."""
    fixed = RelayPolicy(trusted, max_recipients=max_recipients, max_message_size=max_size)
    return lambda: fixed


class DeliveryWatch:
    """Follows a relay's delivery worker, so a test can await "a copy was
    attempted" or "a message left the spool" instead of sleeping."""

    def __init__(self, worker: DeliveryWorker) -> None:
        self.attempts: list[tuple[str, CopyState]] = []
        self.done: list[tuple[str, MessageState]] = []
        self._changed = asyncio.Event()
        worker.on_attempt.append(lambda qid, copy: self._note(self.attempts, (qid, copy)))
        worker.on_done.append(lambda qid, state: self._note(self.done, (qid, state)))

    def _note(self, log: list, item: object) -> None:
        log.append(item)
        self._changed.set()

    async def until(self, condition: Callable[[], bool], timeout: float = 10) -> None:
        async def wait() -> None:
            while not condition():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(wait(), timeout)
