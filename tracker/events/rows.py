"""The event writer process's side of the pipeline: rows from the tracker
(event rows and hits) read, told back for the listeners, and given to the
writer (tracker/writer.py) to batch, journal and store."""

from __future__ import annotations

from collections import deque
from typing import Protocol

from tracker.events.hit import as_hit, is_hit
from tracker.events.reading import HitReader
from tracker.store.records import EventRecord, event_record


class _Writer(Protocol):
    handled: int

    def submit(self, event: EventRecord) -> None: ...


class Rows:
    """`take` reads a list of rows in order. `handled` is what the tracker is
    told it may forget, counted in the order the rows came: the writer's own
    count, plus the hits that record nothing (forged tokens), each only once
    every event before it is handled. Events read from hits of the `tell`
    kinds wait in `told` for the tracker's listeners."""

    def __init__(
        self, writer: _Writer, reader: HitReader | None, tell: frozenset[str] = frozenset()
    ) -> None:
        self.writer = writer
        self.reader = reader
        self.tell = tell
        self.told: list[EventRecord] = []
        self._submitted = 0  # events given to the writer
        self._refused: deque[int] = deque()  # per refused hit: events submitted before it
        self._refused_done = 0
        self.refused = 0  # hits whose token was not ours

    def take(self, rows: list[tuple]) -> None:
        submit, read = self.writer.submit, self.reader.event if self.reader else None
        tell, told = self.tell, self.told
        for row in rows:
            if not is_hit(row):
                event = event_record(*row)
            elif read is None or (event := read(as_hit(row))) is None:
                self._refused.append(self._submitted)
                self.refused += 1
                continue
            elif event.kind in tell:
                told.append(event)
            self._submitted += 1
            submit(event)

    def take_told(self) -> list[EventRecord]:
        told, self.told = self.told, []
        return told

    @property
    def handled(self) -> int:
        done = self.writer.handled
        refused = self._refused
        while refused and refused[0] <= done:
            refused.popleft()
            self._refused_done += 1
        return done + self._refused_done
