"""The event pipeline in the tracker's own process: hits are read as they
come, on the request loop, then told to the listeners and handed to an
`EventWriter` (tracker/writer.py). For tests and small setups; the service
reads hits in the writer's process (tracker/writer_process.py), where they
cost the request loop nothing."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, cast

from tracker.events.hit import Hit
from tracker.events.reading import HitReader
from tracker.events.sink import Listener, tell_listeners
from tracker.store.records import EventRecord
from tracker.writer import EventWriter

if TYPE_CHECKING:
    from tracker.store import Store


class LocalEvents:
    """An EventSink whose steps all run in this process."""

    def __init__(
        self, writer: EventWriter, reader: HitReader, listeners: Iterable[Listener] = ()
    ) -> None:
        self.writer = writer
        self.reader = reader
        self.listeners = tuple(listeners)
        self.refused = 0

    @property
    def store(self) -> Store:
        return cast("Store", self.writer.store)

    def submit(self, event: EventRecord) -> None:
        if self.listeners:
            tell_listeners(self.listeners, (event,))
        self.writer.submit(event)

    def submit_hit(self, hit: Hit) -> None:
        event = self.reader.event(hit)
        if event is None:
            self.refused += 1
        else:
            self.submit(event)

    @property
    def pending(self) -> int:
        return self.writer.pending

    @property
    def journaled(self) -> int:
        return self.writer.journaled

    @property
    def written(self) -> int:
        return self.writer.written

    @property
    def dropped(self) -> int:
        return self.writer.dropped

    async def start(self) -> None:
        await self.writer.start()

    async def flush(self) -> None:
        await self.writer.flush()

    async def close(self) -> None:
        await self.writer.close()
