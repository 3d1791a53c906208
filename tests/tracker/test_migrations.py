"""Alembic migrations: up from nothing, down to nothing, and the models agree with them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, text

from tracker.store import Store
from tracker.store.models import metadata

APP_TABLES = set(metadata.tables)  # every table the models name


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


async def tables_of(store: Store) -> set[str]:
    async with store.engine.connect() as conn:
        return await conn.run_sync(_tables)


def _model_differences(connection: Connection) -> list:
    return compare_metadata(MigrationContext.configure(connection), metadata)


async def test_upgrade_creates_the_tables_from_an_empty_database(open_store: Callable):
    store = await open_store()
    assert await tables_of(store) == set()
    await store.upgrade()
    assert await tables_of(store) == APP_TABLES


async def test_downgrade_removes_every_table_and_upgrade_works_again(store: Store):
    await store.downgrade()
    assert await tables_of(store) == set()
    await store.upgrade()
    assert await tables_of(store) == APP_TABLES


async def test_the_models_match_the_newest_migration(store: Store):
    async with store.engine.connect() as conn:
        assert await conn.run_sync(_model_differences) == []


async def test_upgrading_twice_changes_nothing(store: Store):
    await store.upgrade()
    async with store.engine.connect() as conn:
        assert await conn.run_sync(_model_differences) == []


async def test_nodes_upgrading_at_the_same_moment_both_succeed(open_store: Callable):
    first, second = await open_store(), await open_store()
    await asyncio.gather(first.upgrade(), second.upgrade())
    assert await tables_of(first) == APP_TABLES


async def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path):
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'wal.db'}")
    try:
        async with store.engine.connect() as conn:
            mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar_one()
            timeout = (await conn.execute(text("PRAGMA busy_timeout"))).scalar_one()
    finally:
        await store.close()
    assert (mode, timeout) == ("wal", 5000)
