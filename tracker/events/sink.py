"""What the tracker's handlers, the opt-out and landing pages and /metrics
depend on: an `EventSink`, never a concrete writer. Two kinds exist: the
event writer in a process of its own (tracker/writer_process.py, what the
service uses) and in the tracker's process (tracker/events/local.py).

Listeners (webhooks, sender notices) are told of every event once it is
read, wherever it is read: events the handlers submit at once, events read
from hits when the reading process says so. A listener never costs the event
or the answer: it must not block, and what it raises is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol

from tracker.events.hit import Hit
from tracker.events.reading import HitReader
from tracker.store.records import EventRecord

if TYPE_CHECKING:
    from tracker.store import Store

log = logging.getLogger("sigrelay.tracker.events")


class Listener(Protocol):
    """Told of events of its `kinds` as they are read (tracker/webhooks.py,
    tracker/notify.py). `submit` never blocks."""

    @property
    def kinds(self) -> frozenset[str]: ...

    def submit(self, event: EventRecord) -> None: ...


class EventSink(Protocol):
    """Where events go. `submit` and `submit_hit` never block and never raise."""

    @property
    def store(self) -> Store:
        """The store the events end in (health checks, stand-in copies)."""
        ...

    @property
    def reader(self) -> HitReader | None:
        """How hits are read (None: this sink takes events only, and refuses
        hits). The handlers look at X-Forwarded-For only if it trusts a proxy."""
        ...

    def submit(self, event: EventRecord) -> None:
        """One event, already read (an opt-out, a landing page's visit)."""

    def submit_hit(self, hit: Hit) -> None:
        """One request's facts, to be read as an event (tracker/events/reading.py)."""

    @property
    def pending(self) -> int:
        """Events in memory, not yet in the store or the journal."""
        ...

    @property
    def journaled(self) -> int:
        """Events in the journal, waiting for the store."""
        ...

    @property
    def written(self) -> int: ...

    @property
    def dropped(self) -> int: ...

    @property
    def refused(self) -> int:
        """Hits whose token was not ours (forged, altered, of another kind)."""
        ...

    async def start(self) -> None: ...

    async def flush(self) -> None:
        """Return once everything submitted so far is in the store or the journal."""

    async def close(self) -> None:
        """Write (or journal) everything; nothing is lost on shutdown."""


def listened_kinds(listeners: Iterable[Listener]) -> frozenset[str]:
    """The event kinds some listener wants: the reading process sends back only those."""
    return frozenset(kind for listener in listeners for kind in listener.kinds)


def tell_listeners(listeners: Sequence[Listener], events: Iterable[EventRecord]) -> None:
    """The tell-listeners step: each event to the listeners of its kind."""
    for event in events:
        for listener in listeners:
            if event.kind not in listener.kinds:
                continue
            try:
                listener.submit(event)
            except Exception:  # a listener must never cost us the event or the answer
                log.exception("event listener failed")
