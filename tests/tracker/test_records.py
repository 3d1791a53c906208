"""The records the store takes: plain frozen values however they are built."""

from __future__ import annotations

import dataclasses
import pickle
from datetime import UTC, datetime

import pytest

from tracker.store import EventRecord
from tracker.store.records import event_record

AT = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)


def test_the_handlers_quick_event_record_is_the_same_record():
    quick = event_record("0123456789abcdef", "click", AT, "scanner", "https://x.example/", None)
    built = EventRecord("0123456789abcdef", "click", AT, "scanner", "https://x.example/")
    assert quick == built
    assert hash(quick) == hash(built)
    assert vars(quick) == vars(built)
    assert pickle.loads(pickle.dumps(quick)) == built
    human = dataclasses.replace(built, verdict="human")
    assert dataclasses.replace(quick, verdict="human") == human


def test_the_quick_event_record_is_frozen_too():
    record = event_record("0123456789abcdef", "open", AT)
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.verdict = "scanner"  # type: ignore[misc]
    assert record.verdict == "human" and record.target is None and record.ip is None
