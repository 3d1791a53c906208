"""The event journal: events the store did not take yet, on disk.

`Journal` is one file of JSON lines (one event each), appended and fsynced,
with the offset replayed so far beside it, so that a replay cut short by a
crash resumes where it stopped. The event writer (tracker/writer.py) keeps
one while the store is down or slow.

Overflow files: a tracker whose writer process falls behind (a burst of
opens on a machine with no core to spare) writes the events it cannot hand
over yet into `<journal>.overflow.<n>`, complete files made visible by a
rename; the writer process replays them like its journal, then deletes them.
So a burst costs disk, not events.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from config.durable import append_durably, write_durably
from tracker.store import EventRecord

log = logging.getLogger("sigrelay.tracker.writer")

OVERFLOW = ".overflow."


def new_batch_id() -> str:
    return uuid.uuid4().hex


def to_line(event: EventRecord, batch_id: str | None) -> bytes:
    """One JSON line; `b` names the batch the event is stored with (tracker/store/batches.py)."""
    fields = vars(event) | {"at": event.at.isoformat()}
    if batch_id is not None:
        fields["b"] = batch_id
    return json.dumps(fields).encode() + b"\n"


def from_line(line: bytes) -> tuple[EventRecord, str | None]:
    raw = json.loads(line)
    batch_id = raw.pop("b", None)  # None: a line of an older version, or torn
    return EventRecord(**(raw | {"at": datetime.fromisoformat(raw["at"])})), batch_id


@dataclass
class Batch:
    """Events of the journal to store in one transaction, under their batch id."""

    batch_id: str | None
    events: list[EventRecord] = field(default_factory=list)


class Journal:
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

    def append(self, events: list[EventRecord], batch_id: str | None) -> None:
        """Append a batch: stored later under `batch_id`, in one transaction."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = b"".join(to_line(event, batch_id) for event in events)
        append_durably(self.path, data)
        self.size += len(data)
        self.waiting += len(events)

    def read(self, limit: int) -> tuple[list[Batch], int, int]:
        """The batches from the replayed offset: `limit` lines, and on to the
        end of the last batch (a batch is stored whole or not at all); the
        offset after them, and how many lines that was (unreadable ones included)."""
        batches: list[Batch] = []
        lines = 0
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            end = self.offset
            while True:
                line = handle.readline()
                if not line:
                    break
                if not line.strip():
                    end = handle.tell()
                    continue
                try:
                    event, batch_id = from_line(line)
                except (ValueError, TypeError, KeyError) as exc:
                    # A line torn by a crash mid-write: unusable, and said so.
                    log.error("event journal %s: unreadable line skipped (%s)", self.path, exc)
                    lines += 1
                    end = handle.tell()
                    continue
                same = bool(batches) and batches[-1].batch_id == batch_id
                if lines >= limit and not (same and batch_id is not None):
                    break  # this line starts the next read
                if not same:
                    batches.append(Batch(batch_id))
                batches[-1].events.append(event)
                lines += 1
                end = handle.tell()
            return batches, end, lines

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
        write_durably(self.offset_path, str(end).encode())


def overflow_paths(journal_path: Path) -> list[Path]:
    """The complete overflow files of this journal, oldest first."""
    prefix = journal_path.name + OVERFLOW
    found = []
    for path in journal_path.parent.glob(prefix + "*"):
        if path.name[len(prefix) :].isdigit():  # not `.replayed`, not `.tmp`
            found.append(path)
    return sorted(found, key=lambda p: int(p.name[len(prefix) :]))


def write_overflow(journal_path: Path, events: list[EventRecord], batch_size: int) -> Path:
    """Write the events into a new overflow file, durably, in batches of
    `batch_size` (one transaction each when replayed); its path. Blocking."""
    path = journal_path.with_name(f"{journal_path.name}{OVERFLOW}{time.time_ns()}")
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for start in range(0, len(events), batch_size):
        batch_id = new_batch_id()
        lines += [to_line(event, batch_id) for event in events[start : start + batch_size]]
    write_durably(path, b"".join(lines))  # seen only when complete
    return path
