"""Recording the "sent" facts without ever making delivery wait for the store.

`submit()` only queues in memory; a background task writes batches through
`store.record_copies` (idempotent on copy_id, so writing twice is harmless)
and retries with back-off while the store is down. A spool entry may be
removed before its facts reached the store: `settle()` first journals them
to `<spool>/records/<qid>.json` (atomic, synced), and `start()` replays the
journal. So a fact is lost neither by a store outage nor by a restart.

Before a delivered message leaves the spool, the delivery worker gives the
store a moment with `stored()`: the batch with its facts is usually being
written already, and waiting for it (never longer than a bound, never while
the store is failing) saves writing and syncing a journal file per message.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import fields
from datetime import datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError

from config.durable import write_durably
from proxy import metrics
from proxy.loops import stop_loop
from tracker.store import CopyRecord

log = logging.getLogger("sigrelay.proxy.recorder")

STORE_TIMEOUT = 10.0
GATHER = 0.005  # seconds a write waits for more facts to come
RETRY_MAX = 60.0


class CopyStore(Protocol):
    async def record_copies(self, records: list[CopyRecord]) -> None: ...


_FIELDS = tuple(f.name for f in fields(CopyRecord))
# What a store that cannot be reached raises (network, timeouts, a lost or
# refused connection): the facts wait. Anything else is about the facts.
_UNAVAILABLE = (OSError, TimeoutError, OperationalError, InterfaceError, DisconnectionError)


def storable(record: CopyRecord) -> bool:
    """False for text no store can keep: not UTF-8 (surrogates), or a NUL."""
    for name in _FIELDS:
        value = getattr(record, name)
        if isinstance(value, str):
            if "\x00" in value:
                return False
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return False
    return True


def _to_json(record: CopyRecord) -> dict:
    # Plain fields (asdict() would deep-copy each value for nothing).
    return {name: getattr(record, name) for name in _FIELDS} | {
        "sent_at": record.sent_at.isoformat()
    }


def _from_json(raw: dict) -> CopyRecord:
    return CopyRecord(**(raw | {"sent_at": datetime.fromisoformat(raw["sent_at"])}))


class Recorder:
    def __init__(
        self,
        store: CopyStore,
        journal_dir: Path,
        retry_initial: float = 1.0,
        owns: Callable[[str], bool] = lambda queue_id: True,
    ) -> None:
        self.store = store
        self.journal_dir = journal_dir
        self.owns = owns  # the queue ids whose journals this process replays (spool.Share)
        self.retry_initial = retry_initial
        self._pending: dict[str, list[CopyRecord]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._stopping = False
        self._failing = False  # the last write to the store failed
        # Queue ids with a journal file, deleted once their facts are stored. (A
        # file written as its facts are being stored may stay until the next
        # start replays it: storing facts twice is harmless.)
        self._journaled: set[str] = set()
        # Resolved after every write to the store, for stored() to wait on.
        self._written: asyncio.Future[None] | None = None

    async def start(self) -> None:
        self.journal_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        for path in sorted(self.journal_dir.glob("*.json")):
            if not self.owns(path.stem):
                continue
            try:
                records = [_from_json(raw) for raw in json.loads(path.read_bytes())]
            except (ValueError, TypeError, KeyError) as exc:
                log.error("unreadable record journal %s (%s): kept for the admin", path, exc)
                continue
            self._pending.setdefault(path.stem, records)
            self._journaled.add(path.stem)
        if self._pending:
            self._wake.set()
        self._stopping = False
        self._task = asyncio.create_task(self._flush_forever(), name="sigrelay-recorder")

    def submit(self, queue_id: str, records: list[CopyRecord]) -> None:
        """Never raises; blocks only to set aside facts no store can take (rare)."""
        unstorable = [r for r in records if not storable(r)]
        if unstorable:
            self._set_aside(queue_id, unstorable, "text that is not UTF-8, or a NUL")
            records = [r for r in records if storable(r)]
        if records:
            self._pending[queue_id] = records
            self._wake.set()

    @property
    def poison_dir(self) -> Path:
        return self.journal_dir / "poison"

    def _set_aside(self, queue_id: str, records: list[CopyRecord], reason: str) -> None:
        """Keep facts the store refuses in poison/ for the admin; log and count."""
        metrics.POISONED.labels("facts").inc()
        path = self.poison_dir / f"{queue_id}.json"
        try:
            self.poison_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            data = json.dumps([_to_json(r) for r in records]).encode()
            write_durably(path, data, tmp_path=path.with_suffix(".tmp"))
        except OSError as exc:
            log.error("cannot keep poisoned facts queue_id=%s: %s", queue_id, exc)
        log.error(
            "sent facts set aside queue_id=%s facts=%d reason=%r file=%s",
            queue_id,
            len(records),
            reason[:300],
            path,
        )

    async def stored(self, queue_id: str, timeout: float) -> bool:
        """Whether the store has the facts of this message (True also when it
        has none), waiting for the writes under way for at most `timeout`
        seconds. False at once while the store is failing: then settle() journals."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while queue_id in self._pending:
            remaining = deadline - loop.time()
            if self._failing or self._task is None or remaining <= 0:
                return False
            if self._written is None or self._written.done():
                self._written = loop.create_future()
            try:
                # asyncio.timeout, not wait_for: wait_for (3.11) may swallow the
                # cancellation of a stopping finisher as the write completes.
                async with asyncio.timeout(remaining):
                    await asyncio.shield(self._written)
            except TimeoutError:
                return False
        return True

    def _wrote(self, ok: bool) -> None:
        self._failing = not ok
        if self._written is not None and not self._written.done():
            self._written.set_result(None)

    @property
    def pending(self) -> int:
        return sum(len(records) for records in self._pending.values())

    def settle(self, queue_id: str) -> None:
        """Before the spool forgets a message: journal its facts if the store
        has not taken them yet. Blocking (fsync); call it in a thread."""
        records = self._pending.get(queue_id)
        if records is None:
            return
        self._journaled.add(queue_id)
        path = self.journal_dir / f"{queue_id}.json"
        data = json.dumps([_to_json(r) for r in records]).encode()
        write_durably(path, data, tmp_path=path.with_suffix(".tmp"))

    async def _flush_once(self) -> bool:
        batch = dict(self._pending)
        if not batch:
            return True
        records = [r for rs in batch.values() for r in rs]
        try:
            await asyncio.wait_for(self.store.record_copies(records), STORE_TIMEOUT)
        except Exception as exc:
            if len(batch) == 1 and isinstance(exc, _UNAVAILABLE) or not await self._isolate(batch):
                # The store is down or slow: keep the facts, retry later.
                log.warning(
                    "store unavailable, %d sent facts kept for later: %s", len(records), exc
                )
                self._wrote(False)
                return False
        self._stored(batch)
        self._wrote(True)
        return True

    async def _isolate(self, batch: dict[str, list[CopyRecord]]) -> bool:
        """After a batch failed: each message's facts alone. Those the store
        refuses are set aside; False if the store cannot be reached at all.
        What was stored or set aside leaves `batch` (and the pending facts)."""
        for queue_id, records in list(batch.items()):
            try:
                await asyncio.wait_for(self.store.record_copies(records), STORE_TIMEOUT)
            except _UNAVAILABLE:
                return False
            except Exception as exc:
                self._set_aside(queue_id, records, f"{type(exc).__name__}: {exc}")
            self._stored({queue_id: records})
            del batch[queue_id]
        return True

    def _stored(self, batch: dict[str, list[CopyRecord]]) -> None:
        """These facts are in the store (or set aside): forget them and their journals."""
        for queue_id, recorded in batch.items():
            if self._pending.get(queue_id) is recorded:
                del self._pending[queue_id]
            if queue_id in self._journaled:
                self._journaled.discard(queue_id)
                (self.journal_dir / f"{queue_id}.json").unlink(missing_ok=True)

    async def _flush_forever(self) -> None:
        delay = self.retry_initial
        while not self._stopping:
            await self._wake.wait()
            # The facts of the messages planned meanwhile join this write: one
            # transaction for several messages (what it costs is per transaction).
            await asyncio.sleep(GATHER)
            self._wake.clear()
            if self._stopping:
                return
            if await self._flush_once():
                delay = self.retry_initial
            else:
                await asyncio.sleep(delay)
                delay = min(RETRY_MAX, delay * 2)
                self._wake.set()

    async def stop(self) -> None:
        """One last try, then everything unrecorded goes to the journal."""
        if self._task is not None:
            self._stopping = True
            await stop_loop(self._task, self._wake)
            self._task = None
        await self._flush_once()
        for queue_id in list(self._pending):
            await asyncio.to_thread(self.settle, queue_id)
