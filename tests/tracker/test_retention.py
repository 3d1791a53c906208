"""Forget and retention: addresses become keyed pseudonyms, old events go, all audit-logged."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from tracker.pseudonym import pseudonym
from tracker.store import CopyRecord, EventRecord, Store
from tracker.store.models import copies, events
from tracker.store.retention import Purged, audit_entries, forget, purge, purge_daily

KEY = b"retention-tests-pseudonym-key!!!"
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
KIM = "kim@customer.test"
LEE = "lee@customer.test"


def copy(n: int, recipient: str | None = KIM, days_ago: int = 1) -> CopyRecord:
    domain = recipient.split("@")[1].lower() if recipient else None
    return CopyRecord(
        f"{n:016x}", "q1", NOW - timedelta(days=days_ago), "ann@corp.example", "sales",
        "personal", "spring", "a", recipient, domain,
    )  # fmt: skip


def open_event(of: CopyRecord, days_ago: int) -> EventRecord:
    return EventRecord(of.copy_id, "open", NOW - timedelta(days=days_ago))


async def recipients(store: Store) -> dict[str, tuple[str | None, str | None]]:
    async with store.engine.connect() as conn:
        rows = await conn.execute(select(copies.c.copy_id, copies.c.recipient, copies.c.domain))
        return {row.copy_id: (row.recipient, row.domain) for row in rows}


async def event_count(store: Store) -> int:
    async with store.engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(events))).scalar_one()


async def test_forget_replaces_the_address_in_every_copy_by_its_pseudonym(store: Store):
    await store.record_copies([copy(1), copy(2, "Kim@Customer.test"), copy(3, LEE)])
    result = await forget(store, " KIM@customer.test", KEY, NOW)

    expected = pseudonym(KIM, KEY)
    assert result.subject == expected and result.rows == 2
    stored = await recipients(store)
    assert stored[f"{1:016x}"] == stored[f"{2:016x}"] == (expected, "customer.test")
    assert stored[f"{3:016x}"] == (LEE, "customer.test"), "nobody else is touched"


def test_a_pseudonym_is_keyed_and_reveals_nothing_of_the_address():
    name = pseudonym(KIM, KEY)
    assert name.startswith("pseud:") and "kim" not in name and "customer" not in name
    assert name == pseudonym(KIM.upper(), KEY), "one person, one pseudonym"
    assert name != pseudonym(KIM, b"another-key-another-key-another!")


async def test_a_forgotten_recipient_still_counts_as_one_row_in_stats(store: Store):
    await store.record_copies([copy(1), copy(2)])
    await store.record_events([open_event(copy(1), 0), open_event(copy(2), 0)])
    await forget(store, KIM, KEY, NOW)
    rows = (await store.stats(by="recipient"))["rows"]
    assert [(r["recipient"], r["sent"], r["opens"]) for r in rows] == [(pseudonym(KIM, KEY), 2, 2)]


async def test_forget_is_audit_logged_by_pseudonym_never_by_address(store: Store):
    await store.record_copies([copy(1)])
    await forget(store, KIM, KEY, NOW)
    (entry,) = await audit_entries(store)
    assert (entry["action"], entry["subject"], entry["rows"], entry["at"]) == (
        "forget", pseudonym(KIM, KEY), 1, NOW,
    )  # fmt: skip
    assert KIM not in repr(entry) and "kim" not in repr(entry)


async def test_forgetting_an_unknown_address_changes_nothing_but_is_logged(store: Store):
    await store.record_copies([copy(1, LEE)])
    result = await forget(store, KIM, KEY, NOW)
    assert result.rows == 0 and (await recipients(store))[f"{1:016x}"][0] == LEE
    assert [e["rows"] for e in await audit_entries(store)] == [0]


async def test_purge_pseudonymises_only_copies_older_than_the_retention(store: Store):
    old, recent = copy(1, days_ago=400), copy(2, days_ago=10)
    await store.record_copies([old, recent, copy(3, None, days_ago=400)])
    result = await purge(store, KEY, retention_days=365, event_retention_days=180, now=NOW)
    stored = await recipients(store)
    assert stored[old.copy_id][0] == pseudonym(KIM, KEY)
    assert stored[recent.copy_id][0] == KIM
    assert stored[f"{3:016x}"][0] is None, "anonymous copies stay anonymous"
    assert result.copies_pseudonymised == 1


async def test_purge_deletes_only_events_older_than_the_event_retention(store: Store):
    sent = copy(1)
    await store.record_copies([sent])
    await store.record_events([open_event(sent, 200), open_event(sent, 181), open_event(sent, 5)])
    result = await purge(store, KEY, retention_days=365, event_retention_days=180, now=NOW)
    assert result.events_deleted == 2 and await event_count(store) == 1


async def test_purging_old_events_leaves_the_statistics_as_they_were(store: Store):
    sent = copy(1, days_ago=400)
    await store.record_copies([sent])
    await store.record_events([open_event(sent, 399), open_event(sent, 200), open_event(sent, 5)])
    before = await store.stats(by="day")
    result = await purge(store, KEY, retention_days=365, event_retention_days=180, now=NOW)
    assert result.events_deleted == 2 and result.copies_pseudonymised == 1
    assert await store.stats(by="day") == before
    assert before["totals"]["opens"] == 3 and len(before["rows"]) == 4, "sent day + 3 event days"


async def test_purge_is_audit_logged_and_a_second_run_finds_nothing_to_do(store: Store):
    await store.record_copies([copy(1, days_ago=400)])
    await store.record_events([open_event(copy(1), 300)])
    first = await purge(store, KEY, 365, 180, NOW)
    second = await purge(store, KEY, 365, 180, NOW)
    assert (first.rows, second.rows) == (2, 0)
    log = await audit_entries(store)
    assert [(e["action"], e["rows"], e["subject"]) for e in log] == [
        ("purge", 2, None), ("purge", 0, None),
    ]  # fmt: skip
    assert "events_deleted=1" in log[0]["detail"] and KIM not in log[0]["detail"]


async def test_the_daily_job_runs_first_soon_after_start(store: Store):
    await store.record_copies([copy(1, days_ago=400)])
    runs: asyncio.Queue[Purged] = asyncio.Queue()
    job = asyncio.create_task(
        purge_daily(store, KEY, 365, 180, first_delay=0, on_run=runs.put_nowait)
    )
    try:
        first = await asyncio.wait_for(runs.get(), 10)
    finally:
        job.cancel()
    assert first.copies_pseudonymised == 1


async def test_purge_forgets_the_ids_of_batches_stored_over_a_week_ago(store: Store):
    # The ids only guard replays of journaled batches (tracker/store/batches.py);
    # a week on they go, and the table stays small.
    event = EventRecord(f"{1:016x}", "open", datetime.now(UTC))  # kept by every purge here
    await store.record_events([event], batch_id="a" * 32)
    await store.record_events([event], batch_id="a" * 32)  # a replay: not stored again
    assert await event_count(store) == 1

    await purge(store, KEY, 365, 180, now=datetime.now(UTC) + timedelta(days=6))
    await store.record_events([event], batch_id="a" * 32)
    assert await event_count(store) == 1  # still known after six days

    await purge(store, KEY, 365, 180, now=datetime.now(UTC) + timedelta(days=8))
    await store.record_events([event], batch_id="a" * 32)
    assert await event_count(store) == 2  # forgotten after eight
