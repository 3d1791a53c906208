"""Issue 14, finding 9: the SQLite file (and its -wal and -shm) is the owner's alone."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tracker.store import Store
from tracker.store.throttle import Throttle, ThrottleRule


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def _write_something(store: Store) -> None:
    await store.upgrade()
    await Throttle(store).failed({"k": ThrottleRule(1, 1, 1)})


async def test_a_new_sqlite_file_and_its_wal_and_shm_are_0600(tmp_path: Path):
    old = os.umask(0o022)  # the usual umask, under which the file was 0644
    try:
        store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
        await _write_something(store)
        modes = {p.name: _mode(p) for p in tmp_path.iterdir()}
        await store.close()
    finally:
        os.umask(old)
    assert {"store.db", "store.db-wal", "store.db-shm"} <= set(modes)
    assert set(modes.values()) == {0o600}, modes


async def test_an_existing_0644_file_is_tightened_when_opened(tmp_path: Path):
    database = tmp_path / "store.db"
    store = await Store.open(f"sqlite+aiosqlite:///{database}")
    await store.upgrade()
    await store.close()
    for path in tmp_path.iterdir():
        path.chmod(0o644)
    store = await Store.open(f"sqlite+aiosqlite:///{database}")
    await store.record_copies([])  # opening alone is enough; the store still works
    await store.close()
    assert {_mode(p) for p in tmp_path.iterdir()} == {0o600}
