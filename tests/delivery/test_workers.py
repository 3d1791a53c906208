"""`[relay] workers = 2`: two `sigrelay relay` processes share the listener and
the spool; every message is delivered once, whichever process took it, across
restarts with another number of workers, `sigrelay spool retry` and a worker's death."""

from __future__ import annotations

import asyncio
import os
import signal
import smtplib
import subprocess
import sys
from collections import Counter
from pathlib import Path

from loadclient import SALES, load_message, number_of, queue_id_of
from workerprocs import until, workers_of

from proxy.spool import Share, Spool
from serveprocess import ServeProcess
from smtpsink import SmtpSink


async def send(port: int, numbers: range, clients: int = 8) -> list[int]:
    """Send each numbered message on its own connection; the numbers acknowledged."""
    acked: list[int] = []

    def client(mine: range) -> None:
        for number in mine:
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
                smtp.sendmail(SALES, [f"r{number}@customer.test"], load_message(number))
            acked.append(number)

    step = clients
    await asyncio.gather(
        *(asyncio.to_thread(client, numbers[i::step]) for i in range(min(step, len(numbers))))
    )
    return sorted(acked)


def arrived(sink: SmtpSink) -> Counter[int]:
    return Counter(number_of(r.data) for r in sink.handler.received)


def _port(env: dict[str, str]) -> int:
    return int(env["SIGRELAY_RELAY__LISTEN"].rsplit(":", 1)[1])


async def test_two_workers_share_connections_and_spool_and_deliver_each_message_once(
    relay_env, sink: SmtpSink
):
    env = {**relay_env, "SIGRELAY_RELAY__WORKERS": "2"}
    relay = ServeProcess(env, command="relay")
    await relay.start()
    assert relay.proc is not None
    assert list(workers_of(relay.proc.pid).values()) == ["1/2"]

    acked = await send(_port(env), range(60))
    await sink.handler.wait_for(60, timeout=60)
    assert await relay.stop() == 0

    assert acked == list(range(60))
    assert arrived(sink) == Counter(range(60)), "each message once"
    queue_ids = [queue_id_of(r.data) for r in sink.handler.received]
    taken = Counter(next(i for i in (0, 1) if Share(i, 2).owns(q)) for q in queue_ids)
    assert taken[0] > 0 and taken[1] > 0, f"both processes accepted mail: {taken}"
    assert workers_of(relay.proc.pid) == {}, "worker 1 stopped with worker 0"


async def test_mail_spooled_by_two_workers_is_delivered_by_one_after_a_restart(
    relay_env, sink: SmtpSink
):
    await sink.stop()  # upstream down: everything stays in the spool
    env = {**relay_env, "SIGRELAY_RELAY__WORKERS": "2"}
    two = ServeProcess(env, command="relay")
    await two.start()
    acked = await send(_port(env), range(30))
    assert await two.stop() == 0
    spool = Spool(Path(env["SIGRELAY_DATA"]) / "spool")
    spooled = spool.list()
    assert len(spooled) == 30
    assert {i for q in spooled for i in (0, 1) if Share(i, 2).owns(q)} == {0, 1}
    for queue_id in spooled:
        spool.make_due(queue_id)  # what `sigrelay spool retry` does, relay stopped

    await sink.start()
    one = ServeProcess({**env, "SIGRELAY_RELAY__WORKERS": "1"}, command="relay")
    await one.start()
    await until(lambda: not spool.list(), timeout=60)
    assert await one.stop() == 0

    assert arrived(sink) == Counter(acked)


async def test_spool_retry_reaches_every_worker(relay_env, sink: SmtpSink):
    await sink.stop()
    env = {**relay_env, "SIGRELAY_RELAY__WORKERS": "2"}
    relay = ServeProcess(env, command="relay")
    await relay.start()
    acked = await send(_port(env), range(20))
    spool = Spool(Path(env["SIGRELAY_DATA"]) / "spool")
    # Both workers tried once and deferred everything (the next try is a minute away).
    await until(lambda: len(list((spool.root / "deferred").iterdir())) == 20)
    await sink.start()

    retry = [sys.executable, "-m", "sigrelay", "spool", "retry"]
    subprocess.run(retry, env={**os.environ, **env}, check=True, capture_output=True)
    await until(lambda: not spool.list(), timeout=20)
    assert await relay.stop() == 0

    assert arrived(sink) == Counter(acked)


async def test_a_worker_that_dies_is_started_again(relay_env, sink: SmtpSink):
    env = {**relay_env, "SIGRELAY_RELAY__WORKERS": "2"}
    relay = ServeProcess(env, command="relay")
    await relay.start()
    assert relay.proc is not None
    (dead,) = workers_of(relay.proc.pid)

    os.kill(dead, signal.SIGKILL)
    await until(lambda: set(workers_of(relay.proc.pid)) - {dead})
    await until(lambda: any("relay worker 1 ready" in line for line in relay.log))
    acked = await send(_port(env), range(20))
    await sink.handler.wait_for(20)
    assert await relay.stop() == 0

    assert any("relay worker 1 exited with -9; restarting it" in line for line in relay.log)
    assert arrived(sink) == Counter(acked)
