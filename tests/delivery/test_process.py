"""`sigrelay relay` as a real process: systemd notify, SIGTERM during a
transaction, and SIGKILL in the middle of a load (every 250 arrives once)."""

from __future__ import annotations

import asyncio
import os
import signal
import smtplib
import socket
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from loadclient import MESSAGE_ID, QUEUE_ID, SALES, load_message
from workerprocs import until, workers_of

from proxy.spool import Spool
from serveprocess import ServeProcess
from smtpsink import SinkHandler, SmtpSink


async def test_systemd_hears_ready_then_watchdog_pings_then_stopping(relay_env):
    path = Path(tempfile.mkdtemp(prefix="sdn-")) / "notify"  # AF_UNIX paths are short
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(path))
    listener.setblocking(False)
    loop = asyncio.get_running_loop()
    env = {**relay_env, "NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "200000"}
    relay = ServeProcess(env, command="relay")
    await relay.start()

    async def heard() -> str:
        return (await asyncio.wait_for(loop.sock_recv(listener, 4096), 10)).decode()

    ready = await heard()
    pings = [await heard(), await heard()]
    assert await relay.stop() == 0
    after_stop = []
    while (message := await heard()) != "STOPPING=1":
        after_stop.append(message)  # pings sent before SIGTERM arrived
    listener.close()

    assert ready.startswith("READY=1\n")
    assert pings == ["WATCHDOG=1", "WATCHDOG=1"]
    assert set(after_stop) <= {"WATCHDOG=1"}


async def test_sigterm_lets_a_client_in_the_middle_of_data_finish(relay_env, sink: SmtpSink):
    relay = ServeProcess(relay_env, command="relay")
    await relay.start()
    port = int(relay_env["SIGRELAY_RELAY__LISTEN"].rsplit(":", 1)[1])
    body = load_message(1)

    def begin() -> smtplib.SMTP:
        client = smtplib.SMTP("127.0.0.1", port, timeout=10)
        client.ehlo()
        client.mail(SALES)
        client.rcpt("r1@customer.test")
        assert client.docmd("DATA")[0] == 354
        client.send(body[:40])
        return client

    def finish(client: smtplib.SMTP) -> int:
        client.send(body[40:] + b".\r\n")
        code, _ = client.getreply()
        client.quit()
        return code

    client = await asyncio.to_thread(begin)
    assert relay.proc is not None
    relay.proc.send_signal(signal.SIGTERM)
    await until(lambda: any("shutting down" in line for line in relay.log))
    code = await asyncio.to_thread(finish, client)

    assert code == 250
    assert await relay.stop() == 0
    spooled = Spool(Path(relay_env["SIGRELAY_DATA"]) / "spool").list()
    assert len(sink.handler.received) + len(spooled) == 1, "delivered or kept, exactly once"


@dataclass
class GatedSink(SinkHandler):
    """Stores the first `open_for` messages, then holds every DATA until
    `opened` is set. A held transaction whose client vanished is never
    stored (aiosmtpd cancels it), like a server that never said 250."""

    open_for: int = 30
    opened: asyncio.Event = field(default_factory=asyncio.Event)
    held: int = 0

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.open_for > 0:
            self.open_for -= 1
        else:
            self.held += 1
            try:
                await self.opened.wait()
            finally:
                self.held -= 1
        return await super().handle_DATA(server, session, envelope)


@pytest.mark.parametrize("workers", [1, 2])
async def test_sigkill_in_the_middle_of_a_load_then_restart_delivers_every_250_exactly_once(
    relay_env, sink: SmtpSink, workers: int
):
    sink.handler = upstream = GatedSink()
    relay_env = {**relay_env, "SIGRELAY_RELAY__WORKERS": str(workers)}
    port = int(relay_env["SIGRELAY_RELAY__LISTEN"].rsplit(":", 1)[1])
    first = ServeProcess(relay_env, command="relay")
    await first.start()
    spool = Spool(Path(relay_env["SIGRELAY_DATA"]) / "spool")
    acked: list[int] = []

    def client(numbers: range) -> None:
        for number in numbers:
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
                    smtp.sendmail(SALES, [f"r{number}@customer.test"], load_message(number))
            except (OSError, smtplib.SMTPException):
                continue  # refused or cut off: not acknowledged, the client would retry
            acked.append(number)

    def stored_ones_removed() -> bool:
        # A delivered message is repeated after a crash until it is removed from
        # the spool (proxy/finishing.py); the last of the 30 can still be on its
        # way out when the delivery tasks are all held.
        stored = {QUEUE_ID.search(r.data).group(1).decode() for r in upstream.received}
        return not stored & set(spool.list())

    clients = [asyncio.to_thread(client, range(i, 200, 8)) for i in range(8)]
    load = asyncio.gather(*clients)
    # Kill once 60 messages are acknowledged and every delivery task (8 per
    # process) is held at the upstream: 30 copies were delivered, recorded and
    # removed from the spool, 8 or 16 are on the wire.
    await until(lambda: len(acked) >= 60 and upstream.held == 8 * workers and stored_ones_removed())
    assert first.proc is not None
    for pid in [first.proc.pid, *workers_of(first.proc.pid)]:  # every process at once
        os.kill(pid, signal.SIGKILL)
    acked_at_kill = len(acked)
    await first.stop()
    second = ServeProcess(relay_env, command="relay")
    await second.start()
    await load
    upstream.opened.set()
    await until(lambda: not spool.list(), timeout=60)
    await second.stop()

    arrived = Counter(int(MESSAGE_ID.search(r.data).group(1)) for r in upstream.received)
    assert 60 <= acked_at_kill < 200, "the kill came in the middle of the load"
    assert {number: arrived[number] for number in acked} == {number: 1 for number in acked}
    assert max(arrived.values()) == 1, "nothing arrived twice"
