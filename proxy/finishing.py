"""Taking delivered messages out of the spool, several at a time.

When the last copy of a message is delivered, the message leaves the spool.
First its "sent" facts must be in the store or journaled (proxy/recorder.py);
then its queue file goes, and that removal, synced, is what keeps a restart
from delivering the message again (the outcome of its last attempt is written
nowhere else, proxy/delivery.py). A delivery task hands the message over here
and goes on with the next one; the finisher waits for the store's write under
way, then removes every message handed over meanwhile in one trip to the
spool's threads, with one directory sync for all of them.

A crash before the removal is synced repeats those messages' last copies at
the next start, as a crash with a copy on the wire would.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from proxy.loops import stop_loop
from proxy.recorder import Recorder
from proxy.spool import Spool
from proxy.state import MessageState

log = logging.getLogger("sigrelay.proxy.finishing")

# How long a delivered message waits for the store to take its "sent" facts
# before they are journaled instead; only the spool entry waits, never a copy.
STORE_WAIT = 0.5
RETRY = 1.0  # seconds before removals that failed are tried again


@dataclass(frozen=True)
class Delivered:
    queue_id: str
    state: MessageState  # every copy done; need not have been written
    note: Callable[[], None]  # count, log and report, once the message is gone


class Finisher:
    def __init__(self, spool: Spool, recorder: Recorder) -> None:
        self.spool = spool
        self.recorder = recorder
        self._waiting: dict[str, Delivered] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def __contains__(self, queue_id: str) -> bool:
        return queue_id in self._waiting

    def add(self, delivered: Delivered) -> None:
        """Never blocks."""
        self._waiting[delivered.queue_id] = delivered
        self._wake.set()

    async def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="sigrelay-finisher")

    async def stop(self) -> None:
        """Remove what was handed over (delivery has stopped by now)."""
        if self._task is not None:
            self._stopping = True
            await stop_loop(self._task, self._wake)
            self._task = None
        if self._waiting and not await self._finish_waiting():
            # Delivered, but still in the spool with an older state: the next
            # start delivers these copies again.
            log.error("not removed from the spool: %s", " ".join(self._waiting))

    async def _run(self) -> None:
        while not self._stopping:
            await self._wake.wait()
            self._wake.clear()
            if self._stopping:
                return
            try:
                finished = await self._finish_waiting()
            except Exception:  # a bug must not stop every removal for good
                log.exception("removing delivered messages failed: trying again")
                finished = False
            if not finished and not self._stopping:
                await asyncio.sleep(RETRY)  # a disk error: try the rest again
                self._wake.set()

    async def _finish_waiting(self) -> bool:
        """Remove every message waiting; False if some could not be (they wait on)."""
        batch = list(self._waiting.values())
        # The facts of these messages are usually being written right now.
        for delivered in batch:
            await self.recorder.stored(delivered.queue_id, STORE_WAIT)
        failed = await self.spool.run(self._remove, batch)
        for delivered in batch:
            if delivered.queue_id not in failed:
                del self._waiting[delivered.queue_id]
                try:
                    delivered.note()
                except Exception:  # a callback's bug; the message is gone all the same
                    log.exception("reporting queue_id=%s failed", delivered.queue_id)
        return not failed

    def _remove(self, batch: list[Delivered]) -> set[str]:
        """In a spool thread: journal the facts the store has not taken, then
        remove the messages. The queue ids that could not be removed."""
        removable, failed = [], set()
        for delivered in batch:
            try:
                self.recorder.settle(delivered.queue_id)
            except OSError as exc:  # its facts would be lost: the message stays
                log.error("cannot journal queue_id=%s: %s", delivered.queue_id, exc)
                failed.add(delivered.queue_id)
            else:
                removable.append((delivered.queue_id, delivered.state))
        return failed | self.spool.remove_all(removable)
