"""Recording the "sent" facts without ever making delivery wait for the store.

`submit()` only queues in memory; a background task writes batches through
`store.record_copies` (idempotent on copy_id, so writing twice is harmless)
and retries with back-off while the store is down. A spool entry may be
removed before its facts reached the store: `settle()` first journals them
to `<spool>/records/<qid>.json` (atomic, synced), and `start()` replays the
journal. So a fact is lost neither by a store outage nor by a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Protocol

from tracker.store import CopyRecord

log = logging.getLogger("sigrelay.proxy.recorder")

STORE_TIMEOUT = 10.0
RETRY_MAX = 60.0


class CopyStore(Protocol):
    async def record_copies(self, records: list[CopyRecord]) -> None: ...


def _to_json(record: CopyRecord) -> dict:
    return asdict(record) | {"sent_at": record.sent_at.isoformat()}


def _from_json(raw: dict) -> CopyRecord:
    return CopyRecord(**(raw | {"sent_at": datetime.fromisoformat(raw["sent_at"])}))


class Recorder:
    def __init__(self, store: CopyStore, journal_dir: Path, retry_initial: float = 1.0) -> None:
        self.store = store
        self.journal_dir = journal_dir
        self.retry_initial = retry_initial
        self._pending: dict[str, list[CopyRecord]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._stopping = False

    async def start(self) -> None:
        self.journal_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        for path in sorted(self.journal_dir.glob("*.json")):
            try:
                records = [_from_json(raw) for raw in json.loads(path.read_bytes())]
            except (ValueError, TypeError, KeyError) as exc:
                log.error("unreadable record journal %s (%s): kept for the admin", path, exc)
                continue
            self._pending.setdefault(path.stem, records)
        if self._pending:
            self._wake.set()
        self._stopping = False
        self._task = asyncio.create_task(self._flush_forever(), name="sigrelay-recorder")

    def submit(self, queue_id: str, records: list[CopyRecord]) -> None:
        """Never blocks, never raises."""
        if records:
            self._pending[queue_id] = records
            self._wake.set()

    @property
    def pending(self) -> int:
        return sum(len(records) for records in self._pending.values())

    def settle(self, queue_id: str) -> None:
        """Before the spool forgets a message: journal its facts if the store
        has not taken them yet. Blocking (fsync); call it in a thread."""
        records = self._pending.get(queue_id)
        if records is None:
            return
        path = self.journal_dir / f"{queue_id}.json"
        tmp_path = path.with_suffix(".tmp")
        with open(tmp_path, "wb") as handle:
            handle.write(json.dumps([_to_json(r) for r in records]).encode())
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(tmp_path, path)
        fd = os.open(self.journal_dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    async def _flush_once(self) -> bool:
        batch = dict(self._pending)
        if not batch:
            return True
        records = [r for rs in batch.values() for r in rs]
        try:
            await asyncio.wait_for(self.store.record_copies(records), STORE_TIMEOUT)
        except Exception as exc:  # the store is down or slow: keep the facts, retry later
            log.warning("store unavailable, %d sent facts kept for later: %s", len(records), exc)
            return False
        for queue_id, recorded in batch.items():
            if self._pending.get(queue_id) is recorded:
                del self._pending[queue_id]
            (self.journal_dir / f"{queue_id}.json").unlink(missing_ok=True)
        return True

    async def _flush_forever(self) -> None:
        delay = self.retry_initial
        while not self._stopping:
            await self._wake.wait()
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
            # A flag as well as cancel(): Python 3.11's wait_for can swallow a
            # cancellation that arrives as the store call completes (gh-86296),
            # and the loop would then wait for a wake-up that never comes.
            self._stopping = True
            self._wake.set()
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._flush_once()
        for queue_id in list(self._pending):
            await asyncio.to_thread(self.settle, queue_id)
