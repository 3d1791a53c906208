"""Click history for follow-up campaigns: personal copies only."""

from __future__ import annotations

from datetime import UTC, datetime

from tracker.store import CopyRecord, EventRecord
from tracker.store.behaviour import ClickHistory

AT = datetime(2025, 6, 1, tzinfo=UTC)


def _copy(copy_id: str, privacy: str, campaign: str, recipient: str | None) -> CopyRecord:
    domain = "customer.test" if privacy != "anonymous" else None
    return CopyRecord(copy_id, "q", AT, "anna@example.com", "sales", privacy, campaign, "a",
                      recipient, domain)  # fmt: skip


async def test_recipients_who_clicked_a_source_campaign_are_known(store):
    await store.record_copies(
        [
            _copy("00000000000000b1", "personal", "first", "kim@customer.test"),
            _copy("00000000000000b2", "personal", "first", "lee@customer.test"),  # no click
            _copy("00000000000000b3", "personal", "other", "max@customer.test"),  # not a source
            _copy("00000000000000b4", "domain", "first", None),
        ]
    )
    await store.record_events(
        [
            EventRecord(c, "click", AT)
            for c in ("00000000000000b1", "00000000000000b3", "00000000000000b4")
        ]
        + [EventRecord("00000000000000b2", "impression", AT)]
    )
    history = ClickHistory(store, lambda: frozenset({"first"}))
    await history.refresh()
    assert history.clicked("Kim@customer.test") == frozenset({"first"})
    assert history.clicked("lee@customer.test") == frozenset()
    assert history.clicked("max@customer.test") == frozenset()


async def test_a_scanner_click_is_not_past_behaviour(store):
    await store.record_copies([_copy("00000000000000c1", "personal", "first", "kim@customer.test")])
    await store.record_events([EventRecord("00000000000000c1", "click", AT, "scanner")])
    history = ClickHistory(store, lambda: frozenset({"first"}))
    await history.refresh()
    assert history.clicked("kim@customer.test") == frozenset()
