"""The store goes away for 10 s while recipients keep opening mail: the tracker
keeps answering, and afterwards every served open is in the store exactly once.

Real parts throughout: the tracker app on a loopback port, pixel requests over
HTTP from concurrent clients, the batched writer with its journal, and a real
store made unreachable: PostgreSQL behind a TCP forwarder that is shut and
reopened (conftest.TcpGate), and SQLite held under an exclusive lock by
another connection (what a backup or a second process can do to it).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select

from peers import free_port
from tests.tracker.sinks import SINKS, in_process
from tracker.app import make_app
from tracker.events import EventSink, HitReader
from tracker.store import Store
from tracker.store.models import events
from tracker.tokens import Keyring, Kind, Token, encode, new_copy_id

OUTAGE_SECONDS = 10.0
BEFORE_AND_AFTER_SECONDS = 1.5
CLIENTS = 8


class Load:
    """Clients fetching pixels of distinct copies until stopped; remembers
    which copies got a 2xx answer (each such open must be recorded once)."""

    def __init__(self, base_url: str, keyring: Keyring) -> None:
        self.base_url = base_url
        self.keyring = keyring
        self.served: list[str] = []
        self.failed = 0
        self._stop = asyncio.Event()

    async def run(self) -> None:
        async with aiohttp.ClientSession() as http:
            await asyncio.gather(*(self._client(http) for _ in range(CLIENTS)))

    async def _client(self, http: aiohttp.ClientSession) -> None:
        while not self._stop.is_set():
            copy_id = new_copy_id()
            url = f"{self.base_url}/o/{encode(Token(Kind.OPEN, copy_id), self.keyring)}"
            async with http.get(url) as response:
                await response.read()
                if 200 <= response.status < 300:
                    self.served.append(copy_id)
                else:
                    self.failed += 1

    def stop(self) -> None:
        self._stop.set()


@contextlib.asynccontextmanager
async def _tracker(writer: EventSink, keyring: Keyring) -> AsyncIterator[str]:
    runner = web.AppRunner(make_app(keyring, writer, lambda c, v: None), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def _stored_per_copy(store: Store) -> dict[str, int]:
    async with store.engine.connect() as conn:
        query = select(events.c.copy_id, func.count()).group_by(events.c.copy_id)
        return {copy_id: count for copy_id, count in await conn.execute(query)}


async def _fire_through_an_outage(
    writer_store: Store,
    keyring: Keyring,
    journal: Path,
    cut: Callable[[], Awaitable[None]],
    restore: Callable[[], Awaitable[None]],
    sink: Callable[..., EventSink] = in_process,
) -> tuple[Load, int]:
    """Load before, during and after an outage; returns the load and the most
    events the writer had journaled during the outage."""
    writer = sink(writer_store, journal, HitReader(keyring))
    await writer.start()
    journaled = 0
    try:
        async with _tracker(writer, keyring) as base_url:
            load = Load(base_url, keyring)
            firing = asyncio.create_task(load.run())
            try:
                await asyncio.sleep(BEFORE_AND_AFTER_SECONDS)  # traffic while the store is up
                await cut()
                served_before_outage = len(load.served)
                outage_ends = time.monotonic() + OUTAGE_SECONDS
                while (left := outage_ends - time.monotonic()) > 0:
                    await asyncio.sleep(min(0.5, left))
                    journaled = max(journaled, writer.journaled)
                assert len(load.served) > served_before_outage, "answered during the outage"
                await restore()
                await asyncio.sleep(BEFORE_AND_AFTER_SECONDS)  # traffic while the journal replays
            finally:
                load.stop()
                await firing
    finally:
        await writer.close()
    return load, journaled


# The tracker writes through a writer process (tracker/writer_process.py); the
# in-process writer is what that process runs.
@pytest.mark.parametrize("sink", SINKS)
async def test_postgres_outage_of_10_s_under_load_loses_and_duplicates_no_event(
    postgres_gate, database_url: str, keyring: Keyring, tmp_path: Path, sink
):
    direct = await Store.open(database_url)
    await direct.upgrade()
    gated = await Store.open(database_url.replace(":5432/", f":{postgres_gate.port}/"))
    try:
        load, journaled = await _fire_through_an_outage(
            gated,
            keyring,
            tmp_path / "events.journal",
            postgres_gate.shut,
            postgres_gate.open,
            sink,
        )
        stored = await _stored_per_copy(direct)
    finally:
        await gated.close()
        await direct.close()
    assert journaled > 0, "the outage was noticed and events went to the journal"
    assert load.failed == 0
    # Exactly once, also for a batch whose COMMIT reached PostgreSQL just as the
    # connection was cut (stored, yet reported failed, journaled and replayed):
    # its id makes the replay store nothing (tracker/store/batches.py).
    assert stored == dict.fromkeys(load.served, 1)


async def test_sqlite_locked_for_10_s_under_load_loses_and_duplicates_no_event(
    keyring: Keyring, tmp_path: Path
):
    database = tmp_path / "store.db"
    store = await Store.open(f"sqlite+aiosqlite:///{database}")
    await store.upgrade()
    # A long busy timeout: the writer under load holds the write lock most of the
    # time, and SQLite's busy handler is not fair; the cut must not give up first.
    locker = sqlite3.connect(database, timeout=60, isolation_level=None, check_same_thread=False)

    async def cut() -> None:
        # Another connection takes the write lock and keeps it: the writer's
        # inserts wait out the busy timeout and fail, as with a real lock holder.
        await asyncio.to_thread(locker.execute, "BEGIN EXCLUSIVE")

    async def restore() -> None:
        await asyncio.to_thread(locker.execute, "ROLLBACK")

    try:
        load, journaled = await _fire_through_an_outage(
            store, keyring, tmp_path / "events.journal", cut, restore
        )
        stored = await _stored_per_copy(store)
    finally:
        locker.close()
        await store.close()
    assert journaled > 0, "the outage was noticed and events went to the journal"
    assert load.failed == 0
    assert stored == dict.fromkeys(load.served, 1)
