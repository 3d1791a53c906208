"""Fixtures of the dashboard tests: a migrated SQLite store, the dashboard on loopback."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

# With --import-mode=importlib a test folder is not on sys.path by itself;
# the tests import their helpers from dashboardsite.py.
sys.path.insert(0, str(Path(__file__).parent))

from dashboardsite import Dashboard, dashboard_settings, seed, serve_dashboard  # noqa: E402

from tracker.store import Store  # noqa: E402


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    await store.upgrade()
    yield store
    await store.close()


@pytest.fixture
async def dashboard(tmp_path: Path, store: Store) -> AsyncIterator[Dashboard]:
    async for served in serve_dashboard(tmp_path, dashboard_settings(store)):
        yield served


@pytest.fixture
async def seeded(store: Store) -> Store:
    return await seed(store)
