"""The two event sinks a tracker can have (tracker/events/): hits read in its
own process, or in the event writer's process (as the service has it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tracker.events import EventSink, HitReader, LocalEvents
from tracker.store import Store
from tracker.writer import EventWriter
from tracker.writer_process import ProcessEventWriter


def in_process(store: Store, journal: Path, reader: HitReader, **options: Any) -> EventSink:
    return LocalEvents(EventWriter(store, journal, **options), reader)


def in_writer_process(store: Store, journal: Path, reader: HitReader, **options: Any) -> EventSink:
    return ProcessEventWriter(store, journal, reader=reader, **options)


SINKS = [in_process, in_writer_process]
