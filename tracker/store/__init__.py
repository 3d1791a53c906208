"""The tracker's store: sent facts (`copies`) and events, on SQLite or PostgreSQL.

Public: `Store`, `CopyRecord`, `EventRecord`, `StoreError`. Free of HTTP, so
the relay (proxy/) records its sent facts through it too.
"""

from tracker.store.records import EVENT_KINDS, VERDICTS, CopyRecord, EventRecord
from tracker.store.store import Store, StoreError

__all__ = ["EVENT_KINDS", "VERDICTS", "CopyRecord", "EventRecord", "Store", "StoreError"]
