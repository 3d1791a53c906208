"""Poison isolation (issue 14, finding 1): a message or a sent fact that
cannot be processed is set aside, and never holds up the others, also
across a restart."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner
from relayclient import DeliveryWatch, message, smtp_send

from peers import fresh_postgres_database
from proxy import metrics
from proxy.recorder import Recorder
from proxy.spool import Envelope
from sigrelay.cli import main
from smtpsink import SmtpSink
from tracker.store import CopyRecord, Store

ANNA = "anna.schmidt@example.com"
# Bytes that are not UTF-8, as aiosmtpd kept them (surrogateescape) when the
# relay still accepted them: a message spooled before the fix.
BAD = "a\udcff@customer.test"
GOOD = ("kim@customer.test", "lee@partner.test")


def _poisoned_count(kind: str) -> float:
    return metrics.POISONED.labels(kind)._value.get()


async def _sent(store: Store) -> int:
    return (await store.stats())["totals"]["sent"]


def _spool_list(relay_env: dict[str, str]) -> list[dict]:
    result = CliRunner().invoke(main, ["spool", "list", "--json"], env=relay_env)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["messages"]


async def test_a_crashing_copy_is_set_aside_and_the_co_recipients_are_delivered(
    start_relay, sink: SmtpSink, store: Store, relay_env: dict[str, str]
):
    first = await start_relay()
    envelope = Envelope(ANNA, (BAD, *GOOD), datetime.now(UTC))
    queue_id = first.spool.put(envelope, message(ANNA, GOOD[0]))
    before = _poisoned_count("copy"), _poisoned_count("facts")
    set_aside = asyncio.Event()
    first.worker.on_set_aside.append(lambda qid: set_aside.set())
    first.worker.wake(queue_id)

    await asyncio.wait_for(set_aside.wait(), 10)
    received = await sink.handler.wait_for(2)
    assert sorted(r for m in received for r in m.rcpt_tos) == sorted(GOOD)
    assert first.spool.list() == [] and first.spool.poisoned() == [queue_id]
    assert (_poisoned_count("copy"), _poisoned_count("facts")) == (before[0] + 1, before[1] + 1)
    # The facts of the delivered copies are stored; the bad one waits in poison/.
    assert await first.recorder.stored(queue_id, timeout=10)
    assert await _sent(store) == 2
    assert (first.spool.root / "records" / "poison" / f"{queue_id}.json").exists()

    (row,) = _spool_list(relay_env)
    assert (row["queue_id"], row["state"]) == (queue_id, "poisoned")
    assert "UnicodeEncodeError" in row["last_error"]

    # Later messages are delivered and recorded, also after a restart.
    watch = DeliveryWatch(first.worker)
    await smtp_send(first.address[1], ANNA, ["max@customer.test"])
    await watch.until(lambda: len(watch.done) == 1)
    await first.stop()
    second = await start_relay()
    watch = DeliveryWatch(second.worker)
    await smtp_send(second.address[1], ANNA, ["ola@customer.test"])
    await watch.until(lambda: len(watch.done) == 1)
    assert await second.recorder.stored(watch.done[0][0], timeout=10)
    assert await _sent(store) == 4
    assert second.spool.poisoned() == [queue_id]
    assert len(sink.handler.received) == 4  # the poisoned copy never went out

    dropped = CliRunner().invoke(main, ["spool", "drop", queue_id, "--yes"], env=relay_env)
    assert dropped.exit_code == 0, dropped.output
    assert second.spool.poisoned() == [] and _spool_list(relay_env) == []


async def test_retry_releases_a_poisoned_message_with_its_held_copy(
    start_relay, sink: SmtpSink, relay_env: dict[str, str]
):
    relay = await start_relay()
    queue_id = relay.spool.put(Envelope(ANNA, (BAD, GOOD[0]), datetime.now(UTC)), message())
    set_aside = asyncio.Event()
    relay.worker.on_set_aside.append(lambda qid: set_aside.set())
    relay.worker.wake(queue_id)
    await asyncio.wait_for(set_aside.wait(), 10)
    set_aside.clear()

    result = CliRunner().invoke(main, ["spool", "retry", queue_id], env=relay_env)
    assert result.exit_code == 0, result.output
    assert relay.spool.list() == [queue_id] and relay.spool.poisoned() == []
    state = relay.spool.load_state(queue_id)
    assert state is not None and not any(c.held for c in state.copies)
    # Still crashing: set aside again, the delivered copy not sent twice.
    await asyncio.wait_for(set_aside.wait(), 10)
    assert relay.spool.poisoned() == [queue_id]
    assert [tuple(m.rcpt_tos) for m in sink.handler.received] == [(GOOD[0],)]


def _fact(queue_id: str, copy_id: str, recipient: str = "kim@customer.test") -> CopyRecord:
    return CopyRecord(
        copy_id=copy_id,
        queue_id=queue_id,
        sent_at=datetime.now(UTC),
        sender=ANNA,
        group="sales",
        privacy="personal",
        campaign=None,
        variant=None,
        recipient=recipient,
        domain="customer.test",
    )


async def test_a_fact_the_store_refuses_does_not_block_later_facts(tmp_path: Path):
    """PostgreSQL refuses a copy id longer than its column (a DataError, not an
    outage): that message's facts are set aside, the others stored, and the
    log does not blame the store."""
    async with fresh_postgres_database() as url:
        store = await Store.open(url)
        await store.upgrade()
        recorder = Recorder(store, tmp_path / "records", retry_initial=60)
        await recorder.start()
        try:
            recorder.submit("Q1", [_fact("Q1", "f" * 40)])
            recorder.submit("Q2", [_fact("Q2", "0000000000000002")])
            assert await recorder.stored("Q2", timeout=10)
            assert await recorder.stored("Q1", timeout=10)  # set aside: nothing pending
            recorder.submit("Q3", [_fact("Q3", "0000000000000003")])
            assert await recorder.stored("Q3", timeout=10)
            assert await _sent(store) == 2
        finally:
            await recorder.stop()
            await store.close()
    assert [p.name for p in (tmp_path / "records" / "poison").iterdir()] == ["Q1.json"]
    assert [p.name for p in (tmp_path / "records").glob("*.json")] == []
