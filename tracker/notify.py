"""Telling a sender that a recipient acted: clicked a link or visited the landing page.

Opt-in per group (`notify_sender = true`) and only in personal mode, where the
store knows who the recipient is. At most one notice per copy per day (a
recipient clicking five links sends one mail), and never for machines
(scanners, prefetch). The notice goes straight to the upstream with a null
envelope sender (RFC 5321 4.5.5: no bounce comes back) and
`Auto-Submitted: auto-generated` (RFC 3834), so the relay neither signs nor
tracks it and no auto-responder answers it.

A listener of the event pipeline like the webhooks (tracker/events/sink.py):
`submit` never blocks; a task looks the copy up and sends.

"Once a day" holds across nodes: before sending, the notifier claims
`notify|<copy id>|<day>` through `claim` (the store's `throttles` table,
tracker/store/throttle.py), so two trackers that each see one of a
recipient's clicks send one notice, not two.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any, Protocol

from tracker.store import EventRecord
from tracker.webhooks import as_withdrawn

log = logging.getLogger("sigrelay.tracker.notify")

KINDS = {"click": "clicked a link in", "visit": "visited the web page linked from"}
HUMAN_VERDICTS = ("human", "proxy")

Describe = Callable[[list[str]], Awaitable[Mapping[str, Mapping[str, Any]]]]
# key -> True for the first caller on any node (within a day or more), False after.
Claim = Callable[[str], Awaitable[bool]]


class _Upstream(Protocol):
    async def deliver(self, mail_from: str, rcpts: Sequence[str], data: bytes) -> Any: ...

    async def close(self) -> None: ...


def notice(sender: str, recipient: str, action: str, event: EventRecord, hostname: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"sigrelay <sigrelay@{hostname}>"
    msg["To"] = sender
    msg["Subject"] = f"{recipient} {action} your e-mail"
    msg["Date"] = format_datetime(event.at)
    msg["Message-ID"] = make_msgid(domain=hostname)
    msg["Auto-Submitted"] = "auto-generated"
    target = f"\nLink: {event.target}\n" if event.target else ""
    msg.set_content(
        f"{recipient} {action} your e-mail at {event.at:%Y-%m-%d %H:%M} UTC.\n{target}\n"
        "You get this notice because your group has sender notifications on.\n"
    )
    return bytes(msg)


class SenderNotifier:
    kinds = frozenset(KINDS)  # the events it is told of (a Listener)

    def __init__(
        self,
        describe: Describe,
        upstream: _Upstream,
        *,
        notify_group: Callable[[str], bool],
        hostname: str,
        claim: Claim,
    ) -> None:
        self.describe = describe
        self.upstream = upstream
        self.claim = claim
        self.notify_group = notify_group  # group name -> notify_sender (current config)
        self.hostname = hostname
        self._queue: asyncio.Queue[EventRecord] = asyncio.Queue(1000)
        self._sent: set[tuple[str, date]] = set()  # (copy id, day): one notice per day
        self._task: asyncio.Task[None] | None = None
        self.sent = 0

    def submit(self, event: EventRecord) -> None:
        if event.kind not in KINDS or event.verdict not in HUMAN_VERDICTS:
            return
        if (event.copy_id, event.at.date()) in self._sent:
            return
        with contextlib.suppress(asyncio.QueueFull):  # a flood of clicks: notices are best effort
            self._queue.put_nowait(event)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="sigrelay-sender-notify")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                await self.handle(event)
            except Exception as exc:
                log.warning("sender notice not sent copy_id=%s: %s", event.copy_id, exc)
            finally:
                self._queue.task_done()

    async def drain(self) -> None:
        """Wait until every submitted event was handled (tests, shutdown)."""
        await self._queue.join()

    async def handle(self, event: EventRecord) -> bool:
        """Send the notice for one event if it is due; True if one was sent."""
        key = (event.copy_id, event.at.date())
        if key in self._sent:
            return False
        copy = (await self.describe([event.copy_id])).get(event.copy_id)
        # A recipient who opted out (either choice) is never named to the sender
        # for what they did afterwards: as_withdrawn removes or anonymises it.
        copy = as_withdrawn(event, copy) if copy is not None else None
        if copy is None or copy.get("privacy") != "personal" or not copy.get("recipient"):
            return False
        if not self.notify_group(copy["group"]):
            return False
        self._sent.add(key)  # this node need not ask the store again today
        if not await self.claim(f"notify|{event.copy_id}|{key[1].isoformat()}"):
            return False  # another node sent it
        data = notice(copy["sender"], copy["recipient"], KINDS[event.kind], event, self.hostname)
        await self.upstream.deliver("", [copy["sender"]], data)
        self.sent += 1
        log.info("sender notified copy_id=%s kind=%s", event.copy_id, event.kind)
        return True
