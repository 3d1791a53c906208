"""The event writer in a process of its own: transport only. The pipe to the
child, acknowledgements, restarts and overflow files; what happens to an
event is the event pipeline's (tracker/events/).

Why a process: an event is cheap to answer (~40 us of aiohttp on a loaded
core) and dear to read and store (the token's HMAC, the classifier, SQLAlchemy,
the timing rules, the rollups: ~30 us of Python per event under load). On the
request loop, or in a thread of the same process (one GIL), that halves the
tracker's rate. In a child process it runs on another core; the loop only
pickles each batch once (~0.2 us an event) and writes it into a pipe.

The child reads hits with the tracker's own `HitReader` (sent with its
configuration, tracker/events/rows.py), sends back the events of the kinds
the tracker's listeners want, and runs the ordinary `EventWriter` against its
own `Store` on the same database, with the same timing rules and opt-outs.

- Acknowledged = durable: the child reports how many rows it has written,
  journaled (fsynced), dropped or refused, in submission order; the parent
  keeps every row it sent until then. If the child dies, a new one gets the
  unacknowledged rows again: at least once (so listeners may be told twice).
- Bounded memory: rows not sent yet beyond `spill_at` are read and written to
  an overflow file (tracker/journal.py), which the child replays after its
  journal. Beyond `max_pending` rows are dropped and counted.
- Shutdown: `close()` sends what is left and closes the pipe; the child writes
  (or journals) everything and exits. It ignores SIGTERM and SIGINT (a service
  manager signals the whole process group): it stops when the pipe closes. If
  it cannot finish, the parent journals what was not acknowledged.
- The child's log lines come back through the pipe, logged under their names.

The child's side is tracker/writer_child.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tracker.events.hit import is_hit
from tracker.events.reading import HitReader
from tracker.events.sink import Listener, listened_kinds, tell_listeners
from tracker.journal import Journal, new_batch_id, write_overflow
from tracker.store import EventRecord, Store
from tracker.store.records import event_record
from tracker.writer import log_dropped
from tracker.writer_child import event_row, frame, read_frame

log = logging.getLogger("sigrelay.tracker.writer")

RESTART_DELAY = 1.0
MAX_RESTART_DELAY = 30.0
SEND_INTERVAL = 0.05  # the child's own writer batches; this only bounds the hand-over delay
# The child writes a batch once this many events wait, or every WRITE_INTERVAL
# seconds. A write has a fixed cost (a transaction and its WAL sync, ~27
# statements, the rollup's read-back) and a copy's counters are one row however
# many of its events a batch holds: with 10,000 events a write instead of 2,000,
# Store.record_events took 21.7 us of CPU an open instead of 28.9 (10,000
# copies; 32.4 instead of 35.8 over 200,000), CPU the writer shares with the
# request loop (bench/tracker.py). Still one write a second at least.
WRITE_BATCH = 10_000
WRITE_INTERVAL = 1.0
# At most this many events in one transaction (a writer that fell behind, an
# overflow file's chunk): SQLite holds its write lock for as long, and the
# relay waits for it to record its copies.
MAX_WRITE_BATCH = 20_000
SPILL_AT = 20_000  # events waiting to be sent (~1 s of a busy tracker) before they go to disk
SPILL_RETRY = 1.0  # seconds before an overflow file is tried again after a disk error
# The package root, for the child to import `tracker` from wherever the parent did.
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)


class ProcessEventWriter:
    """An EventSink (tracker/events/sink.py) whose hits are read and events
    stored by a child process. `store` stays here for health checks; the
    child opens its own on the same URL, with the same timing rules and
    opt-outs. Without a `reader`, hits are refused (counted, not stored)."""

    def __init__(
        self,
        store: Store,
        journal_path: Path,
        *,
        reader: HitReader | None = None,
        listeners: Iterable[Listener] = (),
        batch_size: int = WRITE_BATCH,
        flush_interval: float = WRITE_INTERVAL,
        max_batch: int = MAX_WRITE_BATCH,
        max_pending: int = 100_000,
        spill_at: int = SPILL_AT,
        send_interval: float = SEND_INTERVAL,
        restart_delay: float = RESTART_DELAY,
    ) -> None:
        self.store = store
        self.journal_path = journal_path
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_batch = max(batch_size, max_batch)
        self.max_pending = max_pending
        self.spill_at = spill_at
        self.send_interval = send_interval
        self.restart_delay = restart_delay
        self.reader = reader  # reads hits, in the child
        self.listeners = tuple(listeners)
        self._pending: list[tuple] = []  # not sent yet: event rows and hits
        self._unacked: deque[list[tuple]] = deque()  # sent, in order, not yet durable
        self._unacked_count = 0
        self._first_acked = 0  # rows of _unacked[0] already acknowledged
        self._acked_total = 0  # acknowledged by every child so far
        self._child_acked = 0  # ... by the current child
        self._done = dict(written=0, dropped=0, refused=0)  # of children that exited
        self._child: dict[str, int] = dict(written=0, dropped=0, journaled=0, refused=0)
        self._dropped_here = 0
        self._proc: asyncio.subprocess.Process | None = None
        self._status_task: asyncio.Task[None] | None = None  # reads the child's frames
        self._backoff = restart_delay
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        self._spill = asyncio.Event()  # set when `spill_at` events wait to be sent
        self._spill_task: asyncio.Task[None] | None = None
        self.overflowed = 0  # events written to overflow files
        self._acked = asyncio.Event()
        self._closed = False
        self._stopping = False
        self._spawned = False  # a child was started (it may be restarting now)
        self._flush_requests = 0  # flush() requests sent to children
        self._flushed = 0  # the last one answered

    # --- the handlers' side ------------------------------------------------------

    def submit(self, event: EventRecord) -> None:
        """Queue one event, read already: the listeners are told now. Never
        blocks, never raises."""
        if self.listeners:
            tell_listeners(self.listeners, (event,))
        self._queue(event_row(event))

    def _queue(self, row: tuple) -> None:
        if self._closed or len(self._pending) + self._unacked_count >= self.max_pending:
            self._dropped_here += 1
            log_dropped(self._dropped_here, self._closed, self.max_pending)
            return
        self._pending.append(row)
        if len(self._pending) >= self.batch_size:
            self._wake.set()
            if len(self._pending) >= self.spill_at:
                self._spill.set()

    # Queue one hit, read in the child. Never blocks, never raises. The tracker's
    # handlers call this on every request, so it is _queue itself, not a wrapper.
    submit_hit: Any = _queue

    @property
    def pending(self) -> int:
        """Events in memory (here or in the child), not yet in the store or the journal."""
        return len(self._pending) + self._unacked_count

    @property
    def journaled(self) -> int:
        """Events in the journal, waiting for the store (as the child last said)."""
        return self._child["journaled"]

    @property
    def child_pid(self) -> int | None:
        """The writer process's id, while one runs."""
        return self._proc.pid if self._proc is not None else None

    @property
    def written(self) -> int:
        return self._done["written"] + self._child["written"]

    @property
    def refused(self) -> int:
        """Hits whose token was not ours (forged, altered, of another kind), so far."""
        return self._done["refused"] + self._child["refused"]

    @property
    def dropped(self) -> int:
        return self._dropped_here + self._done["dropped"] + self._child["dropped"]

    # --- life cycle ----------------------------------------------------------------

    async def start(self) -> None:
        # The child starts with the first event (a relay-only process never has
        # one), or now if a journal left by an earlier run waits to be replayed.
        if self.journal_path.exists():
            await self._spawn()
        self._tasks.append(asyncio.create_task(self._send_loop(), name="sigrelay-event-sender"))
        self._spill_task = asyncio.create_task(self._spill_loop(), name="sigrelay-event-spill")

    async def flush(self) -> None:
        """Return once everything submitted so far is in the store or the journal,
        and the child has tried the store (replaying its journal) once more."""
        target = self._acked_total + self.pending
        asked, asked_child = 0, None
        while True:
            await self._send_pending()
            proc = self._proc
            if proc is None and not self._spawned:
                return  # no child, nothing submitted, no journal
            if self._acked_total >= target and self._flushed >= asked > 0:
                return
            if proc is not asked_child and proc is not None and proc.stdin is not None:
                # Asked once per child: a child that died never answers, its successor is asked.
                self._flush_requests += 1
                asked, asked_child = self._flush_requests, proc
                with contextlib.suppress(ConnectionError):
                    proc.stdin.write(frame(("flush", asked)))
            self._acked.clear()
            # Woken by the child's answer; the timeout covers a child that died
            # (a new one gets the events, and this loop asks it again).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.restart_delay + 1):
                    await self._acked.wait()

    async def close(self) -> None:
        """Hand everything to the child, let it write (or journal) it and exit;
        journal here whatever a failed child did not acknowledge."""
        self._closed = True
        self._stopping = True
        if self._spill_task is not None:
            # Not cancelled: an overflow file being written is finished and announced.
            self._spill.set()
            await self._spill_task
            self._spill_task = None
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._pending and not self._spawned:
            await self._spawn()
        proc = self._proc
        if proc is not None:
            await self._send_pending()
            if proc.stdin is not None:
                with contextlib.suppress(ConnectionError):
                    proc.stdin.write_eof()
            await proc.wait()
            if self._status_task is not None:
                await self._status_task
            self._proc = None
        left = [row for rows in self._unacked for row in rows][self._first_acked :]
        left += self._pending
        if left:
            self._tell(await asyncio.to_thread(self._journal_here, left))
        if self.journaled:
            log.warning("store unavailable at shutdown: events=%d journaled", self.journaled)

    def _journal_here(self, rows: list[tuple]) -> list[EventRecord]:
        # The child is gone, so the journal has no other writer now.
        events, read = self._events(rows)
        journal = Journal(self.journal_path)
        journal.load()
        journal.append(events, new_batch_id())
        self._child["journaled"] = journal.waiting
        log.error("event writer process failed: events=%d journaled by the tracker", len(events))
        return read

    def _events(self, rows: list[tuple]) -> tuple[list[EventRecord], list[EventRecord]]:
        """Rows as the events they record, to be written to disk here, and those
        read from hits: a hit holds the client's address; the disk gets only
        what the privacy settings keep."""
        if self.reader is None:
            return [event_record(*row) for row in rows if not is_hit(row)], []
        return self.reader.events(rows)

    def _tell(self, read: list[EventRecord]) -> None:
        """Events read from hits here, told to the listeners (on the loop)."""
        if self.listeners and read:
            tell_listeners(self.listeners, read)

    # --- overflow --------------------------------------------------------------------

    async def _spill_loop(self) -> None:
        while not self._stopping:
            await self._spill.wait()
            self._spill.clear()
            if self._stopping or len(self._pending) < self.spill_at:
                continue
            if not await self._write_overflow():
                await asyncio.sleep(SPILL_RETRY)

    async def _write_overflow(self) -> bool:
        """Move the events not sent yet into an overflow file and tell the child."""
        rows, self._pending = self._pending, []
        try:
            path, read = await asyncio.to_thread(self._overflow_file, rows)
        except OSError as exc:
            self._pending[:0] = rows  # still first in line; the bound drops new ones
            log.error("cannot write an event overflow file: %s", exc)
            return False
        self._tell(read)
        self.overflowed += len(rows)
        self._acked_total += len(rows)  # durable: flush() need not wait for them
        log.warning("event writer behind: events=%d written to %s", len(rows), path.name)
        proc = self._proc
        if proc is not None and proc.stdin is not None:
            with contextlib.suppress(ConnectionError):  # a new child finds the file itself
                proc.stdin.write(frame(("overflow", str(path))))
        return True

    def _overflow_file(self, rows: list[tuple]) -> tuple[Path, list[EventRecord]]:
        events, read = self._events(rows)
        return write_overflow(self.journal_path, events, self.max_batch), read

    # --- the child -------------------------------------------------------------------

    async def _spawn(self) -> None:
        self._spawned = True
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_PACKAGE_ROOT, env.get("PYTHONPATH")]))
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tracker.writer_process",  # the name admins see in ps (README)
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        self._child_acked = 0
        config = {
            "url": self.store.engine.url.render_as_string(hide_password=False),
            "timing": self.store.timing,
            "withdrawal": self.store.withdrawal,
            "interests": self.store.interests,
            "hits": self.reader,
            "tell": listened_kinds(self.listeners),
            "journal": str(self.journal_path),
            "batch_size": self.batch_size,
            "flush_interval": self.flush_interval,
            "max_batch": self.max_batch,
            "max_pending": self.max_pending,
            "log_level": logging.getLogger().getEffectiveLevel(),
        }
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(frame(config))
        # Sent before and not acknowledged: the new child gets them first, in order.
        resend = [row for rows in self._unacked for row in rows][self._first_acked :]
        self._unacked.clear()
        self._first_acked = 0
        if resend:
            self._unacked.append(resend)
            self._proc.stdin.write(frame(("events", resend)))
        self._status_task = asyncio.create_task(
            self._read_child(self._proc), name="sigrelay-event-writer-status"
        )

    async def _read_child(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while (message := await read_frame(proc.stdout)) is not None:
            if message[0] == "status":
                _, handled, written, dropped, journaled, refused = message
                self._ack(handled - self._child_acked)
                self._child_acked = handled
                self._child.update(
                    written=written, dropped=dropped, journaled=journaled, refused=refused
                )
                self._backoff = self.restart_delay  # it works: the next failure restarts soon
                self._acked.set()
            elif message[0] == "read":  # events read from hits, for the listeners
                self._tell([event_record(*row) for row in message[1]])
            elif message[0] == "flushed":
                self._flushed = message[1]
                self._acked.set()
            elif message[0] == "log":
                _, level, name, text = message
                logging.getLogger(name).log(level, "%s", text)
        code = await proc.wait()
        for name in ("written", "dropped", "refused"):
            self._done[name] += self._child[name]
            self._child[name] = 0
        if not self._stopping:
            log.error("event writer process exited code=%s: restarting", code)
            self._proc = None
            self._tasks.append(asyncio.create_task(self._restart(), name="sigrelay-writer-restart"))

    async def _restart(self) -> None:
        # Backing off: a child that fails at start-up (say, a broken store URL)
        # is not restarted in a tight loop.
        while not self._stopping:
            await asyncio.sleep(self._backoff)
            self._backoff = min(MAX_RESTART_DELAY, self._backoff * 2)
            try:
                await self._spawn()
                return
            except OSError as exc:
                log.error("event writer process cannot start: %s", exc)

    def _ack(self, count: int) -> None:
        self._acked_total += count
        self._unacked_count -= count
        while count and self._unacked:
            first = self._unacked[0]
            take = min(count, len(first) - self._first_acked)
            self._first_acked += take
            count -= take
            if self._first_acked == len(first):
                self._unacked.popleft()
                self._first_acked = 0

    async def _send_loop(self) -> None:
        while True:
            self._wake.clear()
            # Without a child to take them (it is restarting), events wait here.
            if len(self._pending) < self.batch_size or self._proc is None:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.send_interval):
                        await self._wake.wait()
            await self._send_pending()

    async def _send_pending(self) -> None:
        if self._pending and not self._spawned:
            await self._spawn()
        proc = self._proc
        if not self._pending or proc is None or proc.stdin is None:
            return
        # Hits as plain tuples (tracker/events/hit.py): pickled in C.
        rows, self._pending = list(map(tuple, self._pending)), []
        # Kept until acknowledged: if the child dies now, the next one gets them.
        self._unacked.append(rows)
        self._unacked_count += len(rows)
        try:
            proc.stdin.write(frame(("events", rows)))
            await proc.stdin.drain()
        except ConnectionError:
            pass  # the child died: _read_child restarts it and resends


if __name__ == "__main__":  # the child process, started by `_spawn`
    from tracker.writer_child import main

    main()
