"""`sigrelay forget` and `sigrelay purge` as an admin runs them: processes on a real store."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from exampleflow import cli_json
from tracker.store import CopyRecord, EventRecord, Store

KIM = "kim@customer.test"


async def _data_dir_with_old_copy(tmp_path: Path) -> tuple[dict[str, str], Path]:
    data = tmp_path / "data"
    data.mkdir()
    database = data / "sigrelay.db"
    store = await Store.open(f"sqlite+aiosqlite:///{database}")
    await store.upgrade()
    long_ago = datetime.now(UTC) - timedelta(days=400)
    await store.record_copies(
        [CopyRecord("00000000000000a1", "q", long_ago, "ann@example.com", "sales",
                    "personal", None, None, KIM, "customer.test")]
    )  # fmt: skip
    await store.record_events([EventRecord("00000000000000a1", "open", long_ago)])
    await store.close()
    return {"SIGRELAY_DATA": str(data)}, database


def _dump(database: Path) -> str:
    return "\n".join(sqlite3.connect(database).iterdump())


async def test_forget_leaves_no_trace_of_the_address_in_the_store(tmp_path: Path):
    env, database = await _data_dir_with_old_copy(tmp_path)
    result = await cli_json(env, "forget", KIM)
    assert result["rows"] == 1 and result["subject"].startswith("pseud:")
    dump = _dump(database)
    assert KIM not in dump and result["subject"] in dump
    assert "customer.test" in dump, "the domain stays, as in domain mode"


async def test_purge_applies_the_configured_retention(tmp_path: Path):
    env, database = await _data_dir_with_old_copy(tmp_path)
    result = await cli_json(env, "purge")
    assert result == {"copies_pseudonymised": 1, "events_deleted": 1}
    assert KIM not in _dump(database)
