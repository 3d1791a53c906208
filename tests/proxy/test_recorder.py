"""Sent facts: stored without holding up delivery, journaled when the store cannot take them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from peers import free_port
from proxy.recorder import Recorder
from tracker.store import CopyRecord, Store


def _facts(queue_id: str) -> list[CopyRecord]:
    return [
        CopyRecord(
            copy_id=f"{n:016x}",
            queue_id=queue_id,
            sent_at=datetime.now(UTC),
            sender="anna.schmidt@example.com",
            group="sales",
            privacy="personal",
            campaign=None,
            variant=None,
            recipient=rcpt,
            domain="customer.test",
        )
        for n, rcpt in enumerate(["kim@customer.test", "max@customer.test"], start=1)
    ]


async def _sent(store: Store) -> int:
    return (await store.stats())["totals"]["sent"]


async def test_facts_stored_before_the_message_leaves_need_no_journal(store, tmp_path: Path):
    recorder = Recorder(store, tmp_path / "records")
    await recorder.start()
    try:
        recorder.submit("Q1", _facts("Q1"))
        assert await recorder.stored("Q1", timeout=10)
        recorder.settle("Q1")
    finally:
        await recorder.stop()

    assert list((tmp_path / "records").iterdir()) == []
    assert await _sent(store) == 2


async def test_with_the_store_down_facts_are_journaled_and_stored_at_the_next_start(
    store, tmp_path: Path
):
    # Nothing listens on that port: every write is refused at once.
    down = await Store.open(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/none")
    recorder = Recorder(down, tmp_path / "records", retry_initial=60)
    await recorder.start()
    try:
        recorder.submit("Q1", _facts("Q1"))
        # Not a wait for the bound: the failed write answers it (pytest's timeout would tell).
        assert not await recorder.stored("Q1", timeout=3600)
        recorder.settle("Q1")
        assert [p.name for p in (tmp_path / "records").iterdir()] == ["Q1.json"]
    finally:
        await recorder.stop()
        await down.close()

    again = Recorder(store, tmp_path / "records")
    await again.start()
    try:
        assert await again.stored("Q1", timeout=10)
    finally:
        await again.stop()
    assert await _sent(store) == 2
    assert list((tmp_path / "records").iterdir()) == []
