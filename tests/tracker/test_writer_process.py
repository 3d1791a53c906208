"""The event writer process: the store is written outside the request loop,
and every guarantee of the writer holds across the process boundary."""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.tracker.test_writer import numbered, stored_order
from tracker.journal import from_line, overflow_paths
from tracker.store import Store
from tracker.writer import EventWriter
from tracker.writer_child import _Out
from tracker.writer_process import ProcessEventWriter


async def test_every_submitted_event_is_stored_in_order_after_close(store: Store, tmp_path: Path):
    writer = ProcessEventWriter(store, tmp_path / "events.journal", batch_size=50)
    await writer.start()
    for event in numbered(0, 1000):
        writer.submit(event)
    await writer.close()
    assert await stored_order(store) == list(range(1000))
    assert writer.written == 1000
    assert writer.pending == 0


async def test_flush_returns_once_the_events_are_in_the_store(store: Store, tmp_path: Path):
    writer = ProcessEventWriter(store, tmp_path / "events.journal", flush_interval=3600)
    await writer.start()
    try:
        for event in numbered(0, 10):
            writer.submit(event)
        await writer.flush()
        assert await stored_order(store) == list(range(10))
    finally:
        await writer.close()


async def test_without_events_or_journal_no_process_is_started(store: Store, tmp_path: Path):
    # A relay-only node builds the writer but never submits to it.
    writer = ProcessEventWriter(store, tmp_path / "events.journal")
    await writer.start()
    await writer.flush()
    assert writer.child_pid is None
    await writer.close()
    assert writer.child_pid is None


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[Store]:
    """The failure tests need one backend only: the process boundary is the same."""
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    await store.upgrade()
    yield store
    await store.close()


async def test_a_killed_writer_process_is_replaced_and_loses_nothing(
    sqlite_store: Store, tmp_path: Path
):
    store = sqlite_store
    writer = ProcessEventWriter(store, tmp_path / "events.journal", restart_delay=0.1)
    await writer.start()
    try:
        for event in numbered(0, 500):
            writer.submit(event)
        await writer.flush()
        first = writer.child_pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        for event in numbered(500, 500):
            writer.submit(event)
        await writer.flush()
        assert writer.child_pid not in (None, first), "a new writer process took over"
    finally:
        await writer.close()
    assert await stored_order(store) == list(range(1000))


async def test_the_writer_process_ignores_sigterm_and_stops_when_told(
    sqlite_store: Store, tmp_path: Path
):
    store = sqlite_store
    # A service manager signals the whole process group; the tracker decides
    # when its writer stops, after handing it every event.
    writer = ProcessEventWriter(store, tmp_path / "events.journal")
    await writer.start()
    for event in numbered(0, 10):
        writer.submit(event)
    await writer.flush()
    pid = writer.child_pid
    assert pid is not None
    os.kill(pid, signal.SIGTERM)
    for event in numbered(10, 10):
        writer.submit(event)
    await writer.close()
    assert await stored_order(store) == list(range(20))


async def test_what_a_dead_writer_process_did_not_take_is_journaled_at_close(
    sqlite_store: Store, tmp_path: Path
):
    store = sqlite_store
    journal = tmp_path / "events.journal"
    writer = ProcessEventWriter(store, journal, restart_delay=3600)
    await writer.start()
    for event in numbered(0, 100):
        writer.submit(event)
    await writer.flush()
    pid = writer.child_pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    async with asyncio.timeout(10):
        while writer.child_pid is not None:  # until the tracker has seen it exit
            await asyncio.sleep(0.01)
    for event in numbered(100, 50):
        writer.submit(event)
    await writer.close()  # no writer process now: the tracker journals the 50
    assert await stored_order(store) == list(range(100))
    assert writer.journaled == 50
    replay = EventWriter(store, journal)
    await replay.start()
    await replay.close()
    assert await stored_order(store) == list(range(150))


async def test_a_writer_process_that_falls_behind_costs_disk_not_events(
    sqlite_store: Store, tmp_path: Path
):
    # The child stopped (SIGSTOP): what a writer starved of CPU looks like from the
    # tracker. The pipe fills, the events not sent yet go to overflow files, and the
    # child stores them all once it runs again.
    store = sqlite_store
    journal = tmp_path / "events.journal"
    writer = ProcessEventWriter(store, journal, batch_size=50, max_batch=120, spill_at=300)
    await writer.start()
    try:
        for event in numbered(0, 10):
            writer.submit(event)
        await writer.flush()
        pid = writer.child_pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)
        try:
            for first in range(10, 20_010, 100):
                for event in numbered(first, 100):
                    writer.submit(event)
                await asyncio.sleep(0)  # the tracker's loop goes on serving
            async with asyncio.timeout(30):
                while not writer.overflowed:
                    await asyncio.sleep(0.01)
            assert overflow_paths(journal), "the overflow waits on disk for the child"
            assert writer.dropped == 0
            # Replayed a transaction per batch, each at most `max_batch` events.
            batches = Counter(
                from_line(line)[1]
                for path in overflow_paths(journal)
                for line in path.read_bytes().splitlines()
            )
            assert len(batches) > 1
            assert max(batches.values()) == 120
        finally:
            os.kill(pid, signal.SIGCONT)
    finally:
        await writer.close()
    assert sorted(await stored_order(store)) == list(range(20_010))
    assert overflow_paths(journal) == []
    assert writer.journaled == 0


def test_a_parent_gone_does_not_stop_the_child_from_reporting_or_writing():
    # The tracker was killed: its end of the pipe is closed. The child's progress
    # reports (after every batch) must not raise, or it would stop writing the
    # events it still holds.
    read_end, write_end = os.pipe()
    os.close(read_end)
    out = _Out(write_end)
    try:
        out.send(("status", 1, 1, 0, 0, 0))
        out.send(("status", 2, 2, 0, 0, 0))
    finally:
        os.close(write_end)
    assert out.gone
