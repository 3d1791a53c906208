"""The finisher takes delivered messages out of the spool, and stops when told."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from pathlib import Path

from proxy.finishing import Delivered, Finisher
from proxy.spool import Envelope, Spool
from proxy.state import CopyState, MessageState

MESSAGE = b"From: a@example.com\r\nTo: b@customer.test\r\nSubject: hi\r\n\r\nHello\r\n"


def _delivered_state() -> MessageState:
    copy = CopyState(
        copy_id="c1",
        recipients=("b@customer.test",),
        tracked=True,
        privacy="personal",
        delivered=("b@customer.test",),
    )
    return MessageState(sender="a@example.com", group="sales", copies=(copy,))


def _put(spool: Spool) -> str:
    envelope = Envelope(
        mail_from="a@example.com",
        rcpts=("b@customer.test",),
        received_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        client_address="127.0.0.1",
        client_name="client.test",
    )
    return spool.put(envelope, MESSAGE)


class SwallowingRecorder:
    """A store wait that returns instead of raising when it is cancelled: what
    Python 3.11's wait_for does when the awaited write completes at that moment."""

    def __init__(self) -> None:
        self.waiting = asyncio.Event()
        self.settled: list[str] = []

    async def stored(self, queue_id: str, timeout: float) -> bool:
        self.waiting.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.Event().wait()
        return True

    def settle(self, queue_id: str) -> None:
        self.settled.append(queue_id)


class StoringRecorder:
    def __init__(self) -> None:
        self.settled: list[str] = []

    async def stored(self, queue_id: str, timeout: float) -> bool:
        return True

    def settle(self, queue_id: str) -> None:
        self.settled.append(queue_id)


async def test_delivered_messages_leave_the_spool_and_are_reported_once(tmp_path: Path):
    spool = Spool(tmp_path)
    recorder = StoringRecorder()
    finisher = Finisher(spool, recorder)  # type: ignore[arg-type]
    await finisher.start()
    gone = asyncio.Queue[str]()
    queue_ids = [_put(spool) for _ in range(3)]
    for queue_id in queue_ids:
        finisher.add(Delivered(queue_id, _delivered_state(), lambda q=queue_id: gone.put_nowait(q)))

    reported = [await gone.get() for _ in queue_ids]
    await finisher.stop()

    assert sorted(reported) == sorted(queue_ids)
    assert gone.empty()
    assert spool.list() == []
    assert sorted(recorder.settled) == sorted(queue_ids)


async def test_stop_returns_even_when_the_cancellation_is_swallowed(tmp_path: Path):
    spool = Spool(tmp_path)
    recorder = SwallowingRecorder()
    finisher = Finisher(spool, recorder)  # type: ignore[arg-type]
    await finisher.start()
    queue_id = _put(spool)
    finisher.add(Delivered(queue_id, _delivered_state(), lambda: None))
    await recorder.waiting.wait()

    # Before the stop flag, this waited forever for a wake-up (a relay stop
    # hung in CI). The bound only turns a hang into a failure.
    stopping = asyncio.create_task(finisher.stop())
    done, _ = await asyncio.wait({stopping}, timeout=10)
    if not done:
        finisher._wake.set()  # let the hung loop go, so the test can end
    assert stopping in done

    assert spool.list() == []  # the message was removed all the same
