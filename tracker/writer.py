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

Delivery is at least once: if the store commits a batch but the connection
drops before it says so, that batch is journaled and replayed a second time.

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
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Protocol

from tracker.store import EventRecord

log = logging.getLogger("sigrelay.tracker.writer")

REPLAY_CHUNK_BATCHES = 10  # a replay transaction holds up to 10 batches


class EventStore(Protocol):
    async def record_events(self, records: list[EventRecord]) -> None: ...


def _to_line(event: EventRecord) -> bytes:
    return json.dumps(vars(event) | {"at": event.at.isoformat()}).encode() + b"\n"


def _from_line(line: bytes) -> EventRecord:
    raw = json.loads(line)
    return EventRecord(**(raw | {"at": datetime.fromisoformat(raw["at"])}))


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
        self.journal = _Journal(journal_path)
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
        self.on_flushed: Callable[[], None] | None = None  # told after every flush
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
        """Events in the journal, waiting for the store."""
        return self.journal.waiting

    # --- life cycle ----------------------------------------------------------------

    async def start(self) -> None:
        """Pick up a journal left by an earlier run, then flush in the background."""
        await asyncio.to_thread(self.journal.load)
        if self.journal.waiting:
            log.info("event journal found events=%d: replaying", self.journal.waiting)
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
        if self.journal.waiting:
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
            if self.on_flushed is not None:
                self.on_flushed()

    async def _flush_pending(self, try_store: bool) -> None:
        if try_store and self.journal.waiting:
            try_store = await self._replay()
        while self._pending:
            batch = [self._pending.popleft() for _ in range(min(self.max_batch, self.pending))]
            # Behind a journal that waits, a batch must wait too, or the order breaks.
            if try_store and not self.journal.waiting:
                try:
                    try_store = await self._write(batch)
                except asyncio.CancelledError:
                    # Cancelled from outside mid-write: the batch goes back in front,
                    # for close() (or the next run's journal) to take.
                    self._pending.extendleft(reversed(batch))
                    raise
                if try_store:
                    self._handled(len(batch))
                    continue
            await asyncio.to_thread(self.journal.append, batch)
            self._handled(len(batch))
        self._handled(0)  # what a replay's write spilled

    def _handled(self, count: int) -> None:
        # Events spilled during the write of this batch are newer than it: they
        # count only now, so that the count stays a prefix of the submissions.
        self.handled += count + self._spilled
        self._spilled = 0

    async def _store_or_spill(self, batch: list[EventRecord]) -> None:
        """Write the batch; meanwhile journal the events that pile up beyond
        `spill_at`. Raises what the store raised, or TimeoutError."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.store_timeout
        write = asyncio.ensure_future(self.store.record_events(batch))
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
            await asyncio.to_thread(self.journal.append, spilled)
        except OSError as exc:
            self._pending.extendleft(reversed(spilled))
            log.error("store slow and event journal unwritable: %s", exc)
            return False
        self._spilled += len(spilled)
        log.warning("store slow: events=%d journaled while a write waits", len(spilled))
        return True

    async def _write(self, batch: list[EventRecord]) -> bool:
        try:
            await self._store_or_spill(batch)
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

    async def _replay(self) -> bool:
        """Replay the journal in order; False if the store failed on the way."""
        chunk = self.batch_size * REPLAY_CHUNK_BATCHES
        while self.journal.waiting:
            events, end, lines = await asyncio.to_thread(self.journal.read, chunk)
            if events and not await self._write(events):
                return False
            await asyncio.to_thread(self.journal.mark_replayed, end, lines)
        log.info("event journal replayed")
        return True


class _Journal:
    """Events the store did not take yet: `<path>` holds JSON lines, appended
    and fsynced; `<path>.replayed` holds the byte offset replayed so far.
    Blocking file I/O: called in a thread, by one flush at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset_path = path.with_name(path.name + ".replayed")
        self.offset = 0
        self.size = 0
        self.waiting = 0

    def load(self) -> None:
        if not self.path.exists():
            self.offset_path.unlink(missing_ok=True)
            return
        self.size = self.path.stat().st_size
        with contextlib.suppress(FileNotFoundError, ValueError):
            self.offset = min(int(self.offset_path.read_text()), self.size)
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            self.waiting = sum(1 for line in handle if line.strip())

    def append(self, events: list[EventRecord]) -> None:
        new = not self.path.exists()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = b"".join(_to_line(event) for event in events)
        with open(self.path, "ab") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if new:
            _fsync_dir(self.path.parent)
        self.size += len(data)
        self.waiting += len(events)

    def read(self, limit: int) -> tuple[list[EventRecord], int, int]:
        """Up to `limit` events from the replayed offset, the offset after them,
        and how many lines that was (unreadable ones included)."""
        events: list[EventRecord] = []
        lines = 0
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            while lines < limit:
                line = handle.readline()
                if not line:
                    break
                if not line.strip():
                    continue
                lines += 1
                try:
                    events.append(_from_line(line))
                except (ValueError, TypeError, KeyError) as exc:
                    # A line torn by a crash mid-write: unusable, and said so.
                    log.error("event journal %s: unreadable line skipped (%s)", self.path, exc)
            return events, handle.tell(), lines

    def mark_replayed(self, end: int, count: int) -> None:
        self.waiting = max(0, self.waiting - count)
        if end >= self.size:
            # All replayed: the journal goes, its offset with it (offset first, so a
            # crash in between leaves a journal that is replayed again, never skipped).
            self.offset_path.unlink(missing_ok=True)
            self.path.unlink(missing_ok=True)
            self.offset = self.size = self.waiting = 0
            return
        self.offset = end
        tmp = self.offset_path.with_name(self.offset_path.name + ".tmp")
        with open(tmp, "w") as handle:
            handle.write(str(end))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.offset_path)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
