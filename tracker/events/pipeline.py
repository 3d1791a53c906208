"""The event pipeline as data: every step by name, in order, with the
function that is it. Like the rewriter's PIPELINE (rewriter/rewrite.py), the
list says what happens to an event; unlike it, the steps do not all run in
one place: reading runs per hit where hits are read, the listeners in the
tracker's process, batching in the writer, and the last three in each
batch's transaction (they need the store's history). `HitReader.event` runs
the first three (READ_STEPS, tracker/events/reading.py); the others are named
here so that one list tells where each behaviour lives (docs/internals.md, "The event pipeline").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tracker.events.reading import READ_STEPS
from tracker.events.sink import tell_listeners
from tracker.store.store import Store
from tracker.store.timing import reclassify
from tracker.store.withdrawal import Withdrawal
from tracker.writer import EventWriter

READING = "per hit, where hits are read (writer process, or LocalEvents)"
TRACKER = "in the tracker's process, as events are read"
WRITER = "in the event writer, per batch"
TRANSACTION = "in the batch's store transaction"


@dataclass(frozen=True)
class Step:
    name: str
    description: str
    runs: str
    function: Callable[..., Any]


_READ = dict(READ_STEPS)

PIPELINE: tuple[Step, ...] = (
    Step("read-token", "the copy and link the token names; forged ones stop", READING,
         _READ["read-token"]),
    Step("classify", "verdict and reason: agent, network, HEAD, spray", READING,
         _READ["classify"]),
    Step("cut-address", "what privacy.store_ip keeps of the address", READING,
         _READ["cut-address"]),
    Step("tell-listeners", "webhooks and sender notices, of the kinds they want", TRACKER,
         tell_listeners),
    Step("batch-journal", "batches; the journal while the store is down or slow", WRITER,
         EventWriter.submit),
    Step("timing-rules", "clicks seconds after sending or in a burst: scanner", TRANSACTION,
         reclassify),
    Step("privacy-choice", "an opted-out recipient's events dropped or anonymised", TRANSACTION,
         Withdrawal.apply),
    Step("store", "the events and their rollups, all or none", TRANSACTION,
         Store.record_events),
)  # fmt: skip
