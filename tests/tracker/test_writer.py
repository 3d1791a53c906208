"""The event writer: handlers never wait, the store may fail, no event is lost."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from tracker.journal import overflow_paths, write_overflow
from tracker.store import EventRecord, Store
from tracker.store.models import events
from tracker.writer import EventWriter

START = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)


def numbered(first: int, count: int) -> list[EventRecord]:
    """Events whose copy id and time say their submission order."""
    return [
        EventRecord(f"{n:016x}", "open", START + timedelta(seconds=n), "human")
        for n in range(first, first + count)
    ]


async def stored_order(store: Store) -> list[int]:
    """Copy ids (as numbers) of the stored events, in the order the store took them."""
    async with store.engine.connect() as conn:
        rows = await conn.execute(select(events.c.copy_id).order_by(events.c.id))
        return [int(copy_id, 16) for copy_id in rows.scalars()]


class ObservedStore:
    """The real store, plus an event that is set when a batch was recorded."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.recorded = asyncio.Event()

    async def record_events(self, records: list[EventRecord], batch_id: str | None = None):
        await self.store.record_events(records, batch_id)
        self.recorded.set()


class HeldStore:
    """The real store, but each write waits until the test lets it through."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.writing = asyncio.Event()
        self.release = asyncio.Event()

    async def record_events(self, records: list[EventRecord], batch_id: str | None = None):
        self.writing.set()
        await self.release.wait()
        await self.store.record_events(records, batch_id)


async def test_every_submitted_event_is_stored_once_after_close(store: Store, tmp_path: Path):
    writer = EventWriter(store, tmp_path / "events.journal", batch_size=7)
    await writer.start()
    for event in numbered(0, 100):
        writer.submit(event)
    await writer.close()
    assert await stored_order(store) == list(range(100))
    assert writer.written == 100


async def _written_in_background(store: Store, journal: Path, count: int, **settings) -> list:
    """Submit `count` events and return what the store holds after its first batch,
    with no call but submit(): the background task alone must write them."""
    observed = ObservedStore(store)
    writer = EventWriter(observed, journal, **settings)
    await writer.start()
    for event in numbered(0, count):
        writer.submit(event)
    async with asyncio.timeout(10):
        await observed.recorded.wait()
    stored = await stored_order(store)
    await writer.close()
    return stored


async def test_a_full_batch_is_written_without_waiting_for_the_interval(
    store: Store, tmp_path: Path
):
    stored = await _written_in_background(
        store, tmp_path / "j", 10, batch_size=10, flush_interval=3600
    )
    assert stored == list(range(10))


async def test_a_partial_batch_is_written_after_the_flush_interval(store: Store, tmp_path: Path):
    stored = await _written_in_background(
        store, tmp_path / "j", 3, batch_size=500, flush_interval=0.05
    )
    assert stored == [0, 1, 2]


async def test_while_the_store_is_down_events_are_journaled_then_replayed_in_order(
    tmp_path: Path,
):
    # The database's directory does not exist yet: SQLite cannot open it.
    database_dir = tmp_path / "not-yet"
    store = await Store.open(f"sqlite+aiosqlite:///{database_dir / 'store.db'}")
    journal = tmp_path / "events.journal"
    writer = EventWriter(store, journal, batch_size=20, flush_interval=3600)
    await writer.start()
    try:
        for event in numbered(0, 50):
            writer.submit(event)
        await writer.flush()
        assert writer.journaled == 50 and writer.pending == 0
        assert len(journal.read_bytes().splitlines()) == 50

        database_dir.mkdir()
        await store.upgrade()
        for event in numbered(50, 30):
            writer.submit(event)
        await writer.close()

        assert await stored_order(store) == list(range(80))
        assert not journal.exists() and writer.journaled == 0
    finally:
        await store.close()


async def test_a_postgres_outage_under_load_loses_and_duplicates_nothing(
    postgres_gate, database_url: str, tmp_path: Path
):
    direct = await Store.open(database_url)
    await direct.upgrade()
    gated_url = database_url.replace("127.0.0.1:5432", f"127.0.0.1:{postgres_gate.port}")
    gated = await Store.open(gated_url)
    writer = EventWriter(
        gated, tmp_path / "events.journal", batch_size=50, flush_interval=0.01, retry_interval=0.05
    )
    await writer.start()
    try:
        for event in numbered(0, 1000):
            writer.submit(event)
        await writer.flush()
        await postgres_gate.shut()
        for event in numbered(1000, 1000):
            writer.submit(event)
            await asyncio.sleep(0)  # let the background writer run, as live traffic would
        await writer.flush()
        assert writer.journaled > 0, "the outage was noticed"

        await postgres_gate.open()
        for event in numbered(2000, 1000):
            writer.submit(event)
        await writer.close()
        assert await stored_order(direct) == list(range(3000))
    finally:
        await gated.close()
        await direct.close()


async def test_a_journal_left_at_shutdown_is_replayed_by_the_next_run(store: Store, tmp_path: Path):
    journal = tmp_path / "events.journal"
    missing = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'nowhere' / 'x.db'}")
    first = EventWriter(missing, journal)
    await first.start()
    for event in numbered(0, 25):
        first.submit(event)
    await first.close()
    await missing.close()
    assert len(journal.read_bytes().splitlines()) == 25

    second = EventWriter(store, journal)
    await second.start()
    assert second.journaled == 25
    await second.close()
    assert await stored_order(store) == list(range(25))
    assert not journal.exists()


def _write_journal(path: Path, records: list[EventRecord]) -> None:
    lines = [json.dumps({**vars(r), "at": r.at.isoformat()}) for r in records]
    path.write_text("".join(line + "\n" for line in lines))


async def test_replay_resumes_after_the_last_chunk_a_crashed_run_replayed(
    store: Store, tmp_path: Path
):
    journal = tmp_path / "events.journal"
    _write_journal(journal, numbered(0, 10))
    replayed_up_to = len(b"".join(journal.read_bytes().splitlines(keepends=True)[:4]))
    (tmp_path / "events.journal.replayed").write_text(str(replayed_up_to))

    writer = EventWriter(store, journal)
    await writer.start()
    await writer.close()
    assert await stored_order(store) == list(range(4, 10))


async def test_a_line_torn_by_a_crash_is_skipped_and_the_rest_replayed(
    store: Store, tmp_path: Path
):
    journal = tmp_path / "events.journal"
    _write_journal(journal, numbered(0, 5))
    with open(journal, "ab") as handle:
        handle.write(b'{"copy_id": "00000000000000')

    writer = EventWriter(store, journal)
    await writer.start()
    await writer.close()
    assert await stored_order(store) == list(range(5))
    assert not journal.exists()


async def test_beyond_max_pending_events_are_dropped_and_counted(tmp_path: Path):
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    writer = EventWriter(store, tmp_path / "j", max_pending=3)  # not started: nothing drains
    for event in numbered(0, 5):
        writer.submit(event)
    assert (writer.pending, writer.dropped) == (3, 2)
    await store.close()


async def test_submit_after_close_neither_raises_nor_keeps_the_event(store: Store, tmp_path: Path):
    writer = EventWriter(store, tmp_path / "j")
    await writer.start()
    await writer.close()
    writer.submit(numbered(0, 1)[0])
    assert (writer.pending, writer.dropped) == (0, 1)
    async with store.engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(events))).scalar_one() == 0


async def test_close_during_a_write_in_flight_loses_nothing(store: Store, tmp_path: Path):
    held = HeldStore(store)
    writer = EventWriter(held, tmp_path / "j", batch_size=10, flush_interval=3600)
    await writer.start()
    for event in numbered(0, 25):
        writer.submit(event)
    async with asyncio.timeout(10):
        await held.writing.wait()  # the first batch of 10 is on its way to the store

    closing = asyncio.create_task(writer.close())
    await asyncio.sleep(0)  # close() has begun while the batch is still in flight
    held.release.set()
    await closing
    assert await stored_order(store) == list(range(25))


class CommittedThenCut:
    """The real store, but the first `cuts` writes fail after their COMMIT went
    through: what a connection dropped at that moment looks like to the writer."""

    def __init__(self, store: Store, cuts: int = 1, fail_first: bool = False) -> None:
        self.store = store
        self.cuts = cuts
        self.fail_first = fail_first  # the very first write fails before storing anything
        self.calls = 0

    async def record_events(self, records: list[EventRecord], batch_id: str | None = None):
        self.calls += 1
        if self.fail_first and self.calls == 1:
            raise ConnectionResetError("connection lost before the commit")
        await self.store.record_events(records, batch_id)
        if self.cuts:
            self.cuts -= 1
            raise ConnectionResetError("connection was closed in the middle of operation")


class FailingStore:
    """A store that is down: every write raises, as a refused connection does."""

    async def record_events(self, records: list[EventRecord], batch_id: str | None = None):
        raise ConnectionRefusedError("store down")


class SizedStore:
    """The real store, plus the size of every batch it was given."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.sizes: list[int] = []

    async def record_events(self, records: list[EventRecord], batch_id: str | None = None):
        self.sizes.append(len(records))
        await self.store.record_events(records, batch_id)


async def test_a_writer_behind_takes_everything_waiting_up_to_max_batch(
    store: Store, tmp_path: Path
):
    # Events that piled up while the store was busy go in larger transactions:
    # the store's cost per event falls as the traffic rises.
    sized = SizedStore(store)
    writer = EventWriter(sized, tmp_path / "j", batch_size=10, max_batch=25, flush_interval=3600)
    await writer.start()
    for event in numbered(0, 30):
        writer.submit(event)
    await writer.close()
    assert sized.sizes == [25, 5]
    assert await stored_order(store) == list(range(30))


async def test_events_piling_up_behind_a_hung_write_go_to_the_journal_not_away(
    store: Store, tmp_path: Path
):
    # A store that hangs (a lock held elsewhere) rather than fails: a busy tracker
    # would fill memory long before the store timeout. Beyond spill_at the events
    # are journaled, and every one is stored once the store answers.
    held = HeldStore(store)
    writer = EventWriter(
        held, tmp_path / "j", batch_size=10, max_pending=1000, spill_at=20, flush_interval=3600
    )
    await writer.start()
    for event in numbered(0, 10):
        writer.submit(event)
    async with asyncio.timeout(10):
        await held.writing.wait()  # the first batch is in flight, and hangs
    for event in numbered(10, 100):
        writer.submit(event)
        await asyncio.sleep(0)  # the writer looks at the queue as a busy loop lets it
    async with asyncio.timeout(10):  # until no spill is on its way to the journal
        while writer.journaled + writer.pending < 100 or writer.pending >= 20:
            await asyncio.sleep(0.01)

    assert writer.dropped == 0
    assert writer.journaled > 80
    # Not counted as handled before the older batch in flight is: a writer
    # process acknowledges by this count, in submission order.
    assert writer.handled == 0

    held.release.set()
    await writer.close()
    assert sorted(await stored_order(store)) == list(range(110))
    assert writer.handled == 110


async def test_overflow_files_are_replayed_after_the_journal_and_deleted(
    store: Store, tmp_path: Path
):
    # Written by a tracker whose writer process fell behind (tracker/writer_process.py):
    # one found at start, one announced while running.
    journal = tmp_path / "j"
    found = write_overflow(journal, numbered(0, 30), 10)
    writer = EventWriter(store, journal, batch_size=10)
    await writer.start()
    announced = write_overflow(journal, numbered(30, 20), 10)
    await writer.add_overflow(announced)
    await writer.add_overflow(announced)  # told twice (a new child also looks): once stored
    await writer.close()

    assert sorted(await stored_order(store)) == list(range(50))
    assert not found.exists() and not announced.exists()
    assert overflow_paths(journal) == []


async def test_overflow_files_wait_while_the_store_is_down(tmp_path: Path):
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    await store.upgrade()
    journal = tmp_path / "j"
    path = write_overflow(journal, numbered(0, 5), 10)
    down = FailingStore()
    writer = EventWriter(down, journal, batch_size=10, retry_interval=3600)
    await writer.start()
    await writer.close()
    assert writer.journaled == 5
    assert overflow_paths(journal) == [path]  # kept for the next run

    writer = EventWriter(store, journal, batch_size=10)
    await writer.start()
    await writer.close()
    assert await stored_order(store) == list(range(5))
    assert overflow_paths(journal) == []
    await store.close()


async def test_progress_is_told_after_every_batch_not_only_after_a_flush(
    store: Store, tmp_path: Path
):
    # Under steady traffic a flush never ends (there is always a next batch); a
    # writer process acknowledges what it handled at each of these calls.
    writer = EventWriter(store, tmp_path / "j", batch_size=10, max_batch=10, flush_interval=3600)
    told: list[int] = []
    writer.on_progress = lambda: told.append(writer.handled)
    for event in numbered(0, 30):
        writer.submit(event)
    await writer.start()
    await writer.close()
    assert sorted(set(told))[:3] == [10, 20, 30]


async def test_a_batch_stored_as_its_connection_dropped_is_replayed_without_a_duplicate(
    store: Store, tmp_path: Path
):
    cut = CommittedThenCut(store)
    writer = EventWriter(cut, tmp_path / "j", batch_size=10, flush_interval=3600)
    await writer.start()
    for event in numbered(0, 25):
        writer.submit(event)
    await writer.flush()  # stored, yet reported failed: journaled
    assert writer.journaled == 25
    await writer.flush()  # the replay
    await writer.close()
    assert writer.journaled == 0
    assert cut.calls == 2
    assert await stored_order(store) == list(range(25))


async def test_a_replay_cut_after_its_commit_is_not_stored_twice(store: Store, tmp_path: Path):
    # The first write fails outright (journaled), its replay commits and then fails,
    # and the replay after that finds the batch stored.
    cut = CommittedThenCut(store, fail_first=True)
    writer = EventWriter(cut, tmp_path / "j", batch_size=10, flush_interval=3600)
    await writer.start()
    for event in numbered(0, 10):
        writer.submit(event)
    for _ in range(3):  # failed; replayed, stored and reported failed; replayed again
        await writer.flush()
    await writer.close()
    assert cut.calls == 3
    assert writer.journaled == 0
    assert await stored_order(store) == list(range(10))


async def test_a_journal_cut_short_behind_the_writers_back_ends_its_replay(
    store: Store, tmp_path: Path
):
    # The journal file lost its end (restored from a backup, a disk error): the
    # replay stores what is there and ends, instead of waiting for lines forever.
    journal = tmp_path / "j"
    writer = EventWriter(FailingStore(), journal, batch_size=10, flush_interval=3600)
    await writer.start()
    for event in numbered(0, 20):
        writer.submit(event)
    await writer.flush()  # the store is down: 20 journaled
    data = journal.read_bytes()
    journal.write_bytes(data[: data.index(b"\n", len(data) // 2) + 1])  # a whole line less
    writer.store = store
    async with asyncio.timeout(10):
        await writer.flush()
    await writer.close()
    assert writer.journaled == 0
    assert 0 < len(await stored_order(store)) < 20
