"""Fixtures of the tracker tests: a migrated store on every backend, a keyring."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncpg
import pytest

from peers import missing_peer, postgres_url_reachable
from tracker.store import Store
from tracker.tokens import Keyring

POSTGRES_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture
def keyring() -> Keyring:
    return Keyring({"t1": b"tracker-tests-signing-key-bytes!"}, current="t1")


@pytest.fixture
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A URL of an empty database of the backend the test is parametrized with:
    a fresh SQLite file, or a fresh PostgreSQL database dropped afterwards (so
    tests never see each other's rows, nor those of other test runs)."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
        return
    if not postgres_url_reachable():
        missing_peer("PostgreSQL is not listening on 127.0.0.1:5432 (Debian package postgresql)")
    name = f"sigrelay_test_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


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
    # Every test using a database runs on both backends (issue 6).
    if "database_url" in metafunc.fixturenames and "backend" not in metafunc.fixturenames:
        metafunc.parametrize("database_url", BACKENDS, indirect=True)
