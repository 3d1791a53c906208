"""The event writer: request handlers hand events over and never wait for the store.

`submit()` appends to an in-memory queue. One background task writes batches
(every `flush_interval`, or at once when `batch_size` events wait). A write
takes everything waiting, up to `max_batch` events in one transaction: when
the store falls behind, batches grow and each event costs it less. When the store
raises, the batch is appended to a journal file (JSON lines, fsynced) and
from then on every batch goes behind it, so the order is kept; once the
store answers again the journal is replayed from the start, chunk by chunk,
each chunk in one transaction, the replayed offset saved beside it. `close()`
writes everything still queued, or journals it: nothing is lost on shutdown.

Each batch has an id, journaled with its events and stored in the batch's
own transaction (tracker/store/batches.py): if the store commits a batch but
the connection drops before it says so, the batch is journaled, and its
replay finds the id and stores nothing. Journals of older versions carry no
ids: their replay is at least once. So is an event a writer process had
stored but not yet acknowledged when it died (the tracker gives it again).

A store that hangs instead of failing (a lock held, a network that drops
packets) keeps a write in flight for up to `store_timeout`, while a busy
tracker queues ten thousand events a second. So while a write is in flight,
events beyond `spill_at` go to the journal at once: the write then either
succeeds (and the journal is replayed next) or fails (and its batch is
journaled behind them). That is the one place the journal's order differs
from the submission order; nothing depends on it (the timing rules compare
times both ways, the counters add up). Memory is bounded by `max_pending`;
events beyond it are dropped and counted (only when the journal cannot be
written either, or the writer is not running).

Overflow files (tracker/journal.py), written by a tracker whose writer
process fell behind, are replayed after the journal, and deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from tracker.journal import Journal, new_batch_id, overflow_paths
from tracker.store import EventRecord

log = logging.getLogger("sigrelay.tracker.writer")

REPLAY_CHUNK_BATCHES = 10  # a replay transaction holds up to 10 batches


class EventStore(Protocol):
    async def record_events(
        self, records: list[EventRecord], batch_id: str | None = None
    ) -> None: ...


def log_dropped(dropped: int, closed: bool, max_pending: int) -> None:
    """Say that events are being dropped: at the first, then every 10,000th."""
    if dropped == 1 or dropped % 10_000 == 0:
        reason = "writer closed" if closed else f"{max_pending} pending"
        log.error("events dropped=%d (%s)", dropped, reason)


class EventWriter:
    def __init__(
        self,
        store: EventStore,
        journal_path: Path,
        batch_size: int = 500,
        flush_interval: float = 0.2,
        max_batch: int | None = None,
        max_pending: int = 100_000,
        spill_at: int | None = None,
        retry_interval: float = 1.0,
        max_retry_interval: float = 10.0,
        store_timeout: float = 10.0,
    ) -> None:
        self.store = store
        self.journal = Journal(journal_path)
        self._overflow: dict[Path, Journal] = {}  # overflow files to replay, oldest first
        self.batch_size = batch_size
        self.max_batch = max_batch if max_batch is not None else batch_size * 10
        self.flush_interval = flush_interval
        self.max_pending = max_pending
        self.spill_at = spill_at if spill_at is not None else max(1, max_pending // 4)
        self.retry_interval = retry_interval
        self.max_retry_interval = max_retry_interval
        self.store_timeout = store_timeout
        self.written = 0  # events the store took
        self.dropped = 0  # events refused because the queue was full or the writer closed
        # Events done with, in submission order: written, journaled or dropped. A
        # writer process (tracker/writer_process.py) acknowledges by this count.
        self.handled = 0
        # Told after every batch handled and every flush: a writer process reports
        # its progress then (a flush under steady traffic never ends).
        self.on_progress: Callable[[], None] | None = None
        self._pending: deque[EventRecord] = deque()
        self._spill = asyncio.Event()  # set when `spill_at` events wait
        self._spilled = 0  # journaled during a write in flight, not yet counted handled
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()  # one flush at a time: the journal has one writer
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._retry_at = 0.0
        self._retry_delay = retry_interval

    # --- the handlers' side ------------------------------------------------------

    def submit(self, event: EventRecord) -> None:
        """Queue one event. Never blocks, never raises."""
        if self._closed or len(self._pending) >= self.max_pending:
            self.dropped += 1
            self.handled += 1
            log_dropped(self.dropped, self._closed, self.max_pending)
            return
        self._pending.append(event)
        if len(self._pending) >= self.batch_size:
            self._wake.set()
            if len(self._pending) >= self.spill_at:
                self._spill.set()

    @property
    def pending(self) -> int:
        """Events in memory, not yet in the store or the journal."""
        return len(self._pending)

    @property
    def journaled(self) -> int:
        """Events in the journal and overflow files, waiting for the store."""
        return self.journal.waiting + sum(j.waiting for j in self._overflow.values())

    async def add_overflow(self, path: Path) -> None:
        """Replay this overflow file (tracker/journal.py) with the journal."""
        if path not in self._overflow:
            overflow = Journal(path)
            await asyncio.to_thread(overflow.load)
            self._overflow[path] = overflow
            self._wake.set()

    # --- life cycle ----------------------------------------------------------------

    async def start(self) -> None:
        """Pick up a journal left by an earlier run, then flush in the background."""
        await asyncio.to_thread(self.journal.load)
        for path in await asyncio.to_thread(overflow_paths, self.journal.path):
            await self.add_overflow(path)
        if self.journaled:
            log.info("event journal found events=%d: replaying", self.journaled)
        self._task = asyncio.create_task(self._run(), name="sigrelay-event-writer")

    async def flush(self) -> None:
        """Write everything submitted so far, replaying the journal first;
        what the store refuses is journaled. Tries the store even while backing off."""
        async with self._lock:
            await self._flush(try_store=True)

    async def close(self) -> None:
        """Stop the background task, then write (or journal) everything."""
        self._closed = True
        if self._task is not None:
            # Not cancelled: a batch in the middle of its write finishes first.
            self._wake.set()
            await self._task
            self._task = None
        await self.flush()
        if self.journaled:
            log.warning("store unavailable at shutdown: events=%d journaled", self.journaled)

    async def _run(self) -> None:
        while not self._closed:
            self._wake.clear()
            if len(self._pending) < self.batch_size and not self._closed:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.flush_interval):
                        await self._wake.wait()
            async with self._lock:
                await self._flush(try_store=time.monotonic() >= self._retry_at)

    # --- writing -------------------------------------------------------------------

    async def _flush(self, try_store: bool) -> None:
        try:
            await self._flush_pending(try_store)
        finally:
            if self.on_progress is not None:
                self.on_progress()

    async def _flush_pending(self, try_store: bool) -> None:
        if try_store and self.journal.waiting:
            try_store = await self._replay(self.journal)
        # Older than the events in memory: replayed first (an overflow file is
        # never behind the journal in a way that matters, see above).
        while try_store and self._overflow:
            path, overflow = next(iter(self._overflow.items()))
            try_store = await self._replay(overflow)
            if try_store:
                del self._overflow[path]
        while self._pending:
            batch = [self._pending.popleft() for _ in range(min(self.max_batch, self.pending))]
            batch_id = new_batch_id()  # journaled with it: a replay stores the batch once
            # Behind a journal that waits, a batch must wait too, or the order breaks.
            if try_store and not self.journal.waiting:
                try:
                    try_store = await self._write(batch, batch_id)
                except asyncio.CancelledError:
                    # Cancelled from outside mid-write: the batch goes back in front,
                    # for close() (or the next run's journal) to take.
                    self._pending.extendleft(reversed(batch))
                    raise
                if try_store:
                    self._handled(len(batch))
                    continue
            await asyncio.to_thread(self.journal.append, batch, batch_id)
            self._handled(len(batch))
        self._handled(0)  # what a replay's write spilled

    def _handled(self, count: int) -> None:
        # Events spilled during the write of this batch are newer than it: they
        # count only now, so that the count stays a prefix of the submissions.
        self.handled += count + self._spilled
        self._spilled = 0
        if self.on_progress is not None:
            self.on_progress()

    async def _store_or_spill(self, batch: list[EventRecord], batch_id: str | None) -> None:
        """Write the batch; meanwhile journal the events that pile up beyond
        `spill_at`. Raises what the store raised, or TimeoutError."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.store_timeout
        write = asyncio.ensure_future(self.store.record_events(batch, batch_id))
        try:
            can_spill = True
            while not write.done():
                if can_spill and len(self._pending) >= self.spill_at:
                    can_spill = await self._spill_pending()
                    continue
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise TimeoutError
                self._spill.clear()
                spill = asyncio.ensure_future(self._spill.wait())
                try:
                    await asyncio.wait(
                        {write, spill}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                    )
                finally:
                    spill.cancel()
            write.result()
        finally:
            if not write.done():
                write.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await write

    async def _spill_pending(self) -> bool:
        """Journal every event waiting; False if the journal cannot be written
        (the events wait on in memory, up to `max_pending`)."""
        spilled = list(self._pending)
        self._pending.clear()
        try:
            await asyncio.to_thread(self.journal.append, spilled, new_batch_id())
        except OSError as exc:
            self._pending.extendleft(reversed(spilled))
            log.error("store slow and event journal unwritable: %s", exc)
            return False
        self._spilled += len(spilled)
        log.warning("store slow: events=%d journaled while a write waits", len(spilled))
        return True

    async def _write(self, batch: list[EventRecord], batch_id: str | None) -> bool:
        try:
            await self._store_or_spill(batch, batch_id)
        except Exception as exc:  # the store is down or slow: journal, retry later
            delay = self._retry_delay
            self._retry_at = time.monotonic() + delay
            self._retry_delay = min(self.max_retry_interval, delay * 2)
            log.warning(
                "store unavailable, events journaled, retry_in=%.1fs: %s",
                delay,
                type(exc).__name__ if isinstance(exc, TimeoutError) else exc,
            )
            return False
        self._retry_delay = self.retry_interval
        self.written += len(batch)
        return True

    async def _replay(self, journal: Journal) -> bool:
        """Replay a journal in order; False if the store failed on the way."""
        chunk = self.batch_size * REPLAY_CHUNK_BATCHES
        while journal.waiting:
            batches, end, lines = await asyncio.to_thread(journal.read, chunk)
            if not lines:  # the end of the file before the count said (a file cut short)
                await asyncio.to_thread(journal.mark_replayed, journal.size, journal.waiting)
                break
            for batch in batches:
                if batch.events and not await self._write(batch.events, batch.batch_id):
                    return False
            await asyncio.to_thread(journal.mark_replayed, end, lines)
        if journal is self.journal:
            log.info("event journal replayed")
        else:  # its offset file went with it; the file itself:
            await asyncio.to_thread(journal.path.unlink, missing_ok=True)
        return True
