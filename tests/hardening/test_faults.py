"""Faults of the upstream and of the clock (issue 14, hardening suite), each
with what the user sees and proof that nothing acknowledged is lost:

- a slow upstream that answers after our timeout: the copy is deferred
  (spool state and log line name the timeout), retried, delivered once;
- a flapping upstream (up, down, up, down, up): every 250 arrives exactly once;
- the wall clock stepped back or forward: retries neither stall nor spin.

Upstream down, store down, a full disk and SIGKILL are proven elsewhere
(docs/reliability.md lists where).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from loadclient import SALES, load_message, number_of
from relayclient import DeliveryWatch, smtp_send

from config.schema import parse_upstream
from proxy import delivery
from proxy.backoff import RetryPolicy
from proxy.relay import Relay
from proxy.state import CopyStatus
from proxy.upstream import SmtpUpstream
from smtpsink import SinkHandler, SmtpSink

FAST_RETRY = RetryPolicy(initial=0.02, maximum=0.2, jitter=0.1)
TIMEOUT = 0.3  # seconds our SMTP client waits for each reply (60 in production)


@pytest.fixture
def relay_with(start_relay) -> Callable:
    """Start a relay whose SMTP client gives up after TIMEOUT seconds."""

    async def start(url: str, retry: RetryPolicy = FAST_RETRY) -> Relay:
        upstream = SmtpUpstream(parse_upstream(url), local_hostname="relay.test", timeout=TIMEOUT)
        return await start_relay(retry, upstream)

    return start


@dataclass
class SlowSink(SinkHandler):
    """Answers the first `slow` DATA commands after `delay` seconds. A client
    that gave up meanwhile has closed the connection: aiosmtpd cancels the
    transaction and nothing is stored, as a server does that never said 250."""

    slow: int = 1
    delay: float = 3 * TIMEOUT

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.slow > 0:
            self.slow -= 1
            await asyncio.sleep(self.delay)  # the fault itself, not a wait for something
        return await super().handle_DATA(server, session, envelope)


async def test_slow_upstream_defers_the_copy_then_delivers_it_once(relay_with, sink, caplog):
    sink.handler = SlowSink()
    relay = await relay_with(sink.url)
    watch = DeliveryWatch(relay.worker)
    caplog.set_level(logging.INFO, logger="sigrelay.proxy.delivery")

    refused = await smtp_send(relay.address[1], SALES, ["kim@customer.test"], load_message(1))
    await watch.until(lambda: len(watch.attempts) >= 1)
    queue_id, first = watch.attempts[0]
    spooled = relay.spool.list()
    await watch.until(lambda: len(watch.done) == 1)

    assert refused == {}, "the client got 250 at once: the slow upstream is not its problem"
    assert first.status is CopyStatus.PENDING and "timed out" in first.last_error.lower()
    assert spooled == [queue_id], "deferred, in the spool (what `sigrelay spool list` shows)"
    assert any(
        f"queue_id={queue_id}" in r.message and "status=pending" in r.message
        for r in caplog.records
    ), "the log names the deferred copy"
    assert [number_of(r.data) for r in sink.handler.received] == [1], "delivered exactly once"
    assert relay.spool.list() == []


async def test_flapping_upstream_gets_every_acknowledged_message_exactly_once(relay_with):
    upstream = SmtpSink()
    await upstream.start()
    relay = await relay_with(upstream.url)
    watch = DeliveryWatch(relay.worker)
    port = relay.address[1]
    deferred_while_down = []
    try:
        for number in range(40):
            if number in (10, 25):
                # Down hard: no more listening, and the connections our client
                # keeps for reuse are cut too.
                await upstream.stop()
                upstream.drop_connections()
            if number in (18, 32):
                # What the sender cannot see: its mail waits in the spool.
                deferred_while_down.append(len(relay.spool.list()))
                await upstream.start()  # up again
            assert (
                await smtp_send(port, SALES, [f"r{number}@customer.test"], load_message(number))
                == {}
            )
        await watch.until(lambda: len(watch.done) == 40, timeout=30)
    finally:
        await upstream.stop()

    arrived = Counter(number_of(r.data) for r in upstream.handler.received)
    assert all(count >= 1 for count in deferred_while_down), "mail waited while it was down"
    assert arrived == Counter(range(40)), "every 250 exactly once"
    failed = [a for _, a in watch.attempts if a.status is CopyStatus.PENDING]
    assert failed and all("451" in a.last_error for a in failed), "down is a temporary failure"


class WallClock:
    """proxy.delivery's clock, stepped as NTP or a resumed VM steps it."""

    def __init__(self) -> None:
        self.offset = timedelta()
        self._real = delivery._now

    def __call__(self):
        return self._real() + self.offset


@pytest.fixture
def wall_clock(monkeypatch) -> WallClock:
    clock = WallClock()
    monkeypatch.setattr(delivery, "_now", clock)
    return clock


async def test_clock_set_back_an_hour_does_not_stall_a_deferred_copy(
    relay_with, sink, wall_clock, caplog
):
    await sink.stop()  # down: the copy is deferred by a few milliseconds
    relay = await relay_with(sink.url)
    watch = DeliveryWatch(relay.worker)

    await smtp_send(relay.address[1], SALES, ["kim@customer.test"], load_message(7))
    await watch.until(lambda: len(watch.attempts) >= 1)
    wall_clock.offset = -timedelta(hours=1)  # every next_attempt is now an hour away
    await sink.start()
    await watch.until(lambda: len(watch.done) == 1, timeout=10)

    assert [number_of(r.data) for r in sink.handler.received] == [7]
    assert any("clock went back" in r.message for r in caplog.records)


async def test_clock_set_forward_a_day_neither_spins_nor_expires_the_copy(
    relay_with, sink, wall_clock
):
    await sink.stop()
    retry = RetryPolicy(initial=0.1, factor=1.0, maximum=0.1, jitter=0.0, max_age=2 * 86400)
    relay = await relay_with(sink.url, retry)
    watch = DeliveryWatch(relay.worker)
    loop = asyncio.get_running_loop()
    times: list[float] = []
    relay.worker.on_attempt.append(lambda qid, copy: times.append(loop.time()))

    await smtp_send(relay.address[1], SALES, ["kim@customer.test"], load_message(8))
    await watch.until(lambda: len(watch.attempts) >= 1)
    wall_clock.offset = timedelta(days=1)  # every next_attempt is now a day past
    await watch.until(lambda: len(watch.attempts) >= 5)
    statuses = {copy.status for _, copy in watch.attempts}
    await sink.start()
    await watch.until(lambda: len(watch.done) == 1)

    # The step may make the pending retry due at once (it is a day late by the
    # new clock): one catch-up, then the back-off again (0.1 s), never a spin,
    # which would make these attempts within milliseconds. Single gaps vary
    # with the machine's load; three of them together do not shrink.
    assert times[4] - times[1] >= 0.25, f"retries keep their interval: {times}"
    assert statuses == {CopyStatus.PENDING}, "a day is below max_age: not bounced"
    assert [number_of(r.data) for r in sink.handler.received] == [8]
