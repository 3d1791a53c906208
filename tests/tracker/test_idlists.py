"""A batch's ids as one bound value (tracker/store/idlists.py), on both databases:
the same rows as an IN list, empty lists included."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import String, select

from tracker.store import Store
from tracker.store.idlists import among, not_among
from tracker.store.models import copies
from tracker.store.records import CopyRecord


async def _record(store: Store, copy_ids: list[str]) -> None:
    sent = datetime(2026, 12, 1, tzinfo=UTC)
    await store.record_copies(
        [
            CopyRecord(c, "q", sent, "a@example.com", "sales", "personal", None, None, None, None)
            for c in copy_ids
        ]
    )


@pytest.mark.parametrize(
    "wanted", [[], ["c1"], ["c2", "c3", "nope"], [f"c{i}" for i in range(3000)]]
)
async def test_among_finds_the_rows_an_in_list_finds(store: Store, wanted: list[str]):
    await _record(store, ["c1", "c2", "c3", "c4"])
    query = select(copies.c.copy_id).where(among(copies.c.copy_id, String, store.dialect))
    async with store.engine.connect() as conn:
        found = sorted(row[0] for row in await conn.execute(query, {"ids": wanted}))
    assert found == sorted({"c1", "c2", "c3", "c4"} & set(wanted))


async def test_not_among_on_sqlite_keeps_what_the_list_does_not_name(tmp_path: Path):
    # SQLite's form only: PostgreSQL keeps an IN list there (tracker/store/timing.py).
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    await store.upgrade()
    await _record(store, ["c1", "c2", "c3"])
    query = select(copies.c.copy_id).where(not_among(copies.c.copy_id, "ids"))
    async with store.engine.connect() as conn:
        for excluded, kept in ((["c2"], ["c1", "c3"]), ([], ["c1", "c2", "c3"])):
            found = sorted(row[0] for row in await conn.execute(query, {"ids": excluded}))
            assert found == kept
    await store.close()
