"""One path for events: from a request (or a page's report) to the store.

The pipeline, in order (`PIPELINE` in tracker/events/pipeline.py; each step's
file in docs/internals.md, "The event pipeline"):

1. read-token    tracker/events/reading.py  which copy and link the token names
2. classify      tracker/events/reading.py  the verdict and its reason, decided once
3. cut-address   tracker/events/reading.py  what privacy.store_ip keeps of the address
4. tell-listeners tracker/events/sink.py    webhooks and sender notices
5. batch-journal tracker/writer.py          batches; the journal while the store is down
6. timing-rules  tracker/store/timing.py    clicks no person makes, by the copy's history
7. privacy-choice tracker/store/withdrawal.py  an opted-out recipient's events as they chose
8. store         tracker/store/store.py     events and rollups in one transaction

Steps 1-3 run where hits are read: in the event writer's process
(tracker/events/rows.py) or, with `LocalEvents`, in the tracker's.
Steps 6-8 need the store's history, so they run in the batch's transaction.
"""

from tracker.events.hit import Hit, Read, is_hit
from tracker.events.local import LocalEvents
from tracker.events.reading import READ_STEPS, HitReader
from tracker.events.sink import EventSink, Listener, listened_kinds, tell_listeners

__all__ = [
    "READ_STEPS",
    "EventSink",
    "Hit",
    "HitReader",
    "Listener",
    "LocalEvents",
    "Read",
    "is_hit",
    "listened_kinds",
    "tell_listeners",
]
