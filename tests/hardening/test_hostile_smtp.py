"""Hostile SMTP against a real `sigrelay serve` process (issue 14, hardening suite).

Overlong lines, bare CR and LF, NUL, pipelining abuse, 10,000 RCPTs, 8-bit
data without 8BITMIME, slowloris and 500 parallel connections. Each gets the
correct reply, the relay's memory (its own RSS, read from /proc) stays
bounded, and a well-behaved client is served meanwhile.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mailparts import body_text
from peers import free_port
from serveprocess import ServeProcess
from smtpsink import SmtpSink

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example"
SENDER = "anna.schmidt@example.com"  # loopback is a trusted network in the example
MAX_CONNECTIONS = 450
RSS_GROWTH_LIMIT = 150 * 1024 * 1024  # bytes; the relay idles at ~100 MB


class Client:
    """One SMTP connection over asyncio streams, read reply by reply."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, port: int) -> tuple[Client, int]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = cls(reader, writer)
        return client, await client.reply()

    async def reply(self) -> int:
        while True:
            line = await asyncio.wait_for(self.reader.readline(), 30)
            if not line:
                return 0  # closed by the server
            if line[3:4] != b"-":
                return int(line[:3])

    async def command(self, line: bytes) -> int:
        self.writer.write(line + b"\r\n")
        await self.writer.drain()
        return await self.reply()

    def close(self) -> None:
        self.writer.close()


@pytest.fixture
async def relay(tmp_path: Path, sink: SmtpSink) -> AsyncIterator[tuple[int, ServeProcess]]:
    config_dir = tmp_path / "config"
    shutil.copytree(EXAMPLE, config_dir)
    port, tracker = free_port(), free_port()
    process = ServeProcess(
        {
            "SIGRELAY_CONFIG": str(config_dir),
            "SIGRELAY_DATA": str(tmp_path / "data"),
            "SIGRELAY_RELAY__LISTEN": f"127.0.0.1:{port}",
            "SIGRELAY_RELAY__MAX_CONNECTIONS": str(MAX_CONNECTIONS),
            "SIGRELAY_RELAY__MAX_CONNECTIONS_PER_IP": "1000",  # the test is one IP
            "SIGRELAY_RELAY__DATA_TIMEOUT": "2",
            "SIGRELAY_TRACKER__LISTEN": f"127.0.0.1:{tracker}",
            "SIGRELAY_TRACKER__PUBLIC_URL": f"http://127.0.0.1:{tracker}",
            "SIGRELAY_UPSTREAM__URL": sink.url,
            "SIGRELAY_TOKEN_KEYS": "t1:aGFyZGVuaW5nLXRlc3RzLXNpZ25pbmcta2V5LTMyYnl0ZXM=",
        },
        command="serve",
    )
    await process.start()
    try:
        yield port, process
    finally:
        await process.stop()
    assert "Traceback" not in "".join(process.log), "".join(process.log)[-3000:]


def rss(process: ServeProcess) -> int:
    assert process.proc is not None
    for line in Path(f"/proc/{process.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


async def send_one(port: int, subject: str) -> int:
    """A well-behaved client's whole transaction; the reply to the end of data."""
    client, greeting = await Client.connect(port)
    try:
        assert greeting == 220
        assert await client.command(b"EHLO good.test") == 250
        assert await client.command(f"MAIL FROM:<{SENDER}>".encode()) == 250
        assert await client.command(b"RCPT TO:<kim@customer.test>") == 250
        assert await client.command(b"DATA") == 354
        message = f"From: {SENDER}\r\nTo: kim@customer.test\r\nSubject: {subject}\r\n\r\nHi\r\n."
        return await client.command(message.encode())
    finally:
        client.close()


async def test_overlong_command_lines_get_500_and_others_are_served(relay):
    port, _ = relay
    client, _ = await Client.connect(port)
    assert await client.command(b"EHLO x.test") == 250
    assert await client.command(b"MAIL FROM:<" + b"a" * 100_000 + b"@example.com>") == 500
    assert await client.command(b"NOOP") == 250  # the same connection goes on
    client.close()
    assert await send_one(port, "after overlong") == 250


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"MAIL FROM:<a\x00b@example.com>", {501, 553}),
        (b"MAIL FROM:<anna.schmidt@example.com>\x00 BODY=8BITMIME", {501, 553, 555}),
        (b"MAIL FROM:<x\xff@example.com>", {501, 553}),
        (b"HELO \x00\x01\x02", {250, 501}),
    ],
)
async def test_nul_and_bad_bytes_in_commands_get_a_clear_refusal(relay, line, expected):
    port, _ = relay
    client, _ = await Client.connect(port)
    assert await client.command(b"EHLO x.test") == 250
    assert await client.command(line) in expected
    assert await client.command(b"RSET") == 250
    client.close()


async def test_bare_lf_dot_bare_lf_does_not_end_data(relay, sink: SmtpSink):
    """SMTP smuggling: "\\n.\\n" inside DATA is text, not the end of the message."""
    port, _ = relay
    client, _ = await Client.connect(port)
    assert await client.command(b"EHLO x.test") == 250
    assert await client.command(f"MAIL FROM:<{SENDER}>".encode()) == 250
    assert await client.command(b"RCPT TO:<kim@customer.test>") == 250
    assert await client.command(b"DATA") == 354
    smuggled = (
        f"From: {SENDER}\r\nTo: kim@customer.test\r\nSubject: one\r\n\r\nHi\n.\n"
        "MAIL FROM:<ceo@example.com>\nRCPT TO:<victim@customer.test>\nDATA\n"
        "Subject: smuggled\r\n\r\nbare\rCR too\r\n."
    )
    assert await client.command(smuggled.encode()) == 250
    client.close()
    (received,) = await sink.handler.wait_for(1)
    assert received.rcpt_tos == ("kim@customer.test",)
    assert b"RCPT TO:<victim@customer.test>" in received.data  # delivered as text


async def test_pipelined_flood_is_answered_in_order(relay):
    port, _ = relay
    client, _ = await Client.connect(port)
    assert await client.command(b"EHLO x.test") == 250
    client.writer.write(b"NOOP\r\n" * 5_000 + b"RSET\r\n")
    await client.writer.drain()
    replies = [await client.reply() for _ in range(5_001)]
    assert replies == [250] * 5_001
    client.close()


async def test_ten_thousand_recipients_get_452_beyond_the_limit(relay, sink: SmtpSink):
    port, process = relay
    before = rss(process)
    client, _ = await Client.connect(port)
    assert await client.command(b"EHLO x.test") == 250
    assert await client.command(f"MAIL FROM:<{SENDER}>".encode()) == 250
    client.writer.write(b"".join(b"RCPT TO:<r%d@customer.test>\r\n" % i for i in range(10_000)))
    await client.writer.drain()
    replies = [await client.reply() for _ in range(10_000)]
    assert replies.count(250) == 100  # [relay] max_recipients of the example
    assert set(replies[100:]) == {452}
    assert await client.command(b"RSET") == 250
    client.close()
    assert rss(process) - before < RSS_GROWTH_LIMIT


async def test_eight_bit_data_without_8bitmime_is_accepted_and_kept(relay, sink: SmtpSink):
    """RFC 6152 lets a server refuse it; like Postfix we take what clients send."""
    port, _ = relay
    client, _ = await Client.connect(port)
    assert await client.command(b"EHLO x.test") == 250
    assert await client.command(f"MAIL FROM:<{SENDER}>".encode()) == 250  # no BODY=8BITMIME
    assert await client.command(b"RCPT TO:<kim@customer.test>") == 250
    assert await client.command(b"DATA") == 354
    body = "Grüße aus Köln".encode("latin-1")
    head = f"From: {SENDER}\r\nTo: kim@customer.test\r\nSubject: 8bit\r\n\r\n".encode()
    assert await client.command(head + body + b"\r\n.") == 250
    client.close()
    (received,) = await sink.handler.wait_for(1)
    # Signed, so re-encoded; the text reads as readers showed the unlabelled 8-bit bytes.
    assert "Grüße aus Köln" in body_text(received.data, "plain")


async def test_slowloris_clients_are_cut_and_others_served_meanwhile(relay):
    port, _ = relay
    slow = []
    for _ in range(50):
        client, _ = await Client.connect(port)
        await client.command(b"EHLO slow.test")
        await client.command(f"MAIL FROM:<{SENDER}>".encode())
        await client.command(b"RCPT TO:<kim@customer.test>")
        assert await client.command(b"DATA") == 354
        client.writer.write(b"Subject: slow\r\n\r\n")
        slow.append(client)

    async def trickle(client: Client) -> int:
        # a byte at a time until the relay answers (the DATA deadline is 2 s here)
        reply = asyncio.ensure_future(client.reply())
        while not reply.done():
            try:
                client.writer.write(b"x")
                await client.writer.drain()
            except ConnectionError:
                break
            await asyncio.wait({reply}, timeout=0.1)
        return await reply

    trickling = asyncio.gather(*(trickle(client) for client in slow))
    assert await send_one(port, "while slow clients trickle") == 250
    assert set(await trickling) == {421}
    for client in slow:
        client.close()


async def test_five_hundred_parallel_connections_beyond_the_cap_get_421(relay):
    port, process = relay
    before = rss(process)
    results = await asyncio.gather(
        *(Client.connect(port) for _ in range(500)), return_exceptions=True
    )
    clients = [result[0] for result in results if isinstance(result, tuple)]
    greetings = [result[1] for result in results if isinstance(result, tuple)]
    assert len(greetings) == 500, [r for r in results if not isinstance(r, tuple)][:3]
    assert greetings.count(220) == MAX_CONNECTIONS
    assert greetings.count(421) == 500 - MAX_CONNECTIONS
    assert rss(process) - before < RSS_GROWTH_LIMIT
    for client in clients:
        client.close()
    # once they are gone, a new client is served
    for _ in range(50):
        client, greeting = await Client.connect(port)
        client.close()
        if greeting == 220:
            break
        await asyncio.sleep(0)  # the relay notices the closed connections
    assert await send_one(port, "after the crowd") == 250
