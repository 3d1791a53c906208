"""Fixtures of the tracker tests: a migrated store on every backend, a keyring."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from peers import free_port, fresh_postgres_database, missing_peer, postgres_url_reachable
from tracker.store import Store
from tracker.tokens import Keyring

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture
def keyring() -> Keyring:
    return Keyring({"t1": b"tracker-tests-signing-key-bytes!"}, current="t1")


@pytest.fixture
def forger() -> Keyring:
    """A key nobody configured, under the tracker's key id: its tokens look right
    and are forged."""
    return Keyring({"t1": b"somebody-else-s-signing-key-32b!"}, current="t1")


@pytest.fixture
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A URL of an empty database of the backend the test is parametrized with:
    a fresh SQLite file, or a fresh PostgreSQL database dropped afterwards (so
    tests never see each other's rows, nor those of other test runs)."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
        return
    async with fresh_postgres_database() as url:
        yield url


@pytest.fixture
async def open_store(database_url: str) -> AsyncIterator[Callable]:
    """Open (and at the end close) stores on the test's database."""
    opened: list[Store] = []

    async def open_() -> Store:
        store = await Store.open(database_url)
        opened.append(store)
        return store

    yield open_
    for store in opened:
        await store.close()


@pytest.fixture
async def store(open_store: Callable) -> Store:
    """A store with the newest schema."""
    store = await open_store()
    await store.upgrade()
    return store


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Every test using a database runs on both backends (issue 6); a test that
    # cuts the network to the database needs one behind a network.
    if "database_url" in metafunc.fixturenames:
        backends = ["postgresql"] if "postgres_gate" in metafunc.fixturenames else BACKENDS
        metafunc.parametrize("database_url", backends, indirect=True)


class TcpGate:
    """A loopback TCP forwarder that can be shut (refusing connections and
    cutting live ones, as a crashed database host would) and opened again on
    the same port: a real outage of a real PostgreSQL, without touching it."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._forward, "127.0.0.1", self.port)

    async def shut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _forward(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter):
        try:
            upstream_r, upstream_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_w.transport.abort()
            return
        self._writers |= {client_w, upstream_w}
        await asyncio.gather(self._pipe(client_r, upstream_w), self._pipe(upstream_r, client_w))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.transport.abort()
            self._writers.discard(writer)


@pytest.fixture
async def postgres_gate() -> AsyncIterator[TcpGate]:
    if not postgres_url_reachable():
        missing_peer("PostgreSQL is not listening on 127.0.0.1:5432 (Debian package postgresql)")
    gate = TcpGate(5432)
    await gate.open()
    yield gate
    await gate.shut()
