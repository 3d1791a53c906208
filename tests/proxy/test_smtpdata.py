"""DATA read in large steps (proxy/smtpdata.py) gives what aiosmtpd's line reader gives."""

from __future__ import annotations

import asyncio
import smtplib

from aiosmtpd.smtp import SMTP
from hypothesis import given, settings
from hypothesis import strategies as st
from relayclient import policy

from proxy.server import RelayHandler
from proxy.smtpdata import TOO_MUCH, read_data
from proxy.spool import Spool

LINE_LIMIT = 1001  # aiosmtpd's line_length_limit for commands: 998 octets, the dot and CRLF


def line_by_line(stream: bytes) -> tuple[bytes, bytes]:
    """The reference: RFC 5321 4.5.2 read one line at a time, as aiosmtpd does.
    Returns (content, what follows the end-of-data line)."""
    content, position = [], 0
    while True:
        end = stream.index(b"\r\n", position) + 2
        line = stream[position:end]
        position = end
        if line == b".\r\n":
            return b"".join(content), stream[position:]
        content.append(line[1:] if line.startswith(b".") else line)


async def read(stream: bytes, pieces: list[int], size_limit: int | None = None):
    """Feed `stream` to a real StreamReader in pieces (as the socket delivers it)."""
    reader = asyncio.StreamReader(limit=LINE_LIMIT)

    async def feed() -> None:
        position = 0
        for size in [*pieces, len(stream)]:
            reader.feed_data(stream[position : position + size])
            position += size
            await asyncio.sleep(0)  # let the reader look at what it has so far
        reader.feed_eof()

    feeding = asyncio.create_task(feed())
    result = await read_data(reader, size_limit)
    await feeding
    return result, await reader.read()


lines = st.lists(
    st.one_of(
        st.sampled_from([b".", b"..", b".x", b"x.", b"", b" .", b"a\n.", b"\r", b"end."]),
        st.binary(max_size=40).map(lambda b: b.replace(b"\r\n", b"")),
    ),
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(lines=lines, after=st.sampled_from([b"", b"QUIT\r\n", b"MAIL FROM:<a@b>\r\nRCPT"]),
       pieces=st.lists(st.integers(1, 50), max_size=8))  # fmt: skip
def test_content_and_what_follows_are_those_of_the_line_reader(lines, after, pieces):
    # Dot-stuffed as a client sends it: a line starting with "." gets another.
    body = b"".join((b"." + line if line.startswith(b".") else line) + b"\r\n" for line in lines)
    stream = body + b".\r\n" + after

    result, rest = asyncio.run(read(stream, pieces))

    assert result.refusal is None
    assert (result.content, rest) == line_by_line(stream)


async def test_an_empty_message_ends_at_its_first_line():
    result, rest = await read(b".\r\nQUIT\r\n", [1, 1])
    assert (result.content, result.refusal, rest) == (b"", None, b"QUIT\r\n")


async def test_a_message_over_the_size_limit_is_read_to_its_end_then_refused():
    body = b"x" * 70 + b"\r\n"
    stream = body * 100 + b".\r\nQUIT\r\n"

    result, rest = await read(stream, [500] * 20, size_limit=1000)

    assert result.refusal == TOO_MUCH and result.content == b""
    assert rest == b"QUIT\r\n"


async def test_one_huge_line_over_the_size_limit_is_refused_too():
    stream = b"y" * 5000 + b"\r\n.\r\nNOOP\r\n"
    result, rest = await read(stream, [1000] * 6, size_limit=1000)
    assert (result.refusal, rest) == (TOO_MUCH, b"NOOP\r\n")


async def test_a_line_over_998_octets_is_accepted():
    # RFC 5321 4.5.3.1: 998 octets is what a receiver must accept, not a reason to refuse.
    long_line = b"z" * 5000
    stream = b"ok\r\n" + long_line + b"\r\n.\r\nQUIT\r\n"
    result, rest = await read(stream, [300] * 4)
    assert result.refusal is None
    assert (result.content, rest) == (b"ok\r\n" + long_line + b"\r\n", b"QUIT\r\n")


async def test_a_line_as_long_as_the_size_limit_is_accepted():
    line = b"w" * 998 + b"\r\n"
    result, _ = await read(line + b".\r\n", [100] * 5, size_limit=len(line))
    assert (result.refusal, result.content) == (None, line)


async def test_a_bare_lf_is_kept_inside_its_line():
    # aiosmtpd's lines end at CRLF only: 600 + LF + 600 octets are one line of 1203.
    body = b"ok\r\n" + b"a" * 600 + b"\n" + b"b" * 600 + b"\r\n"
    result, _ = await read(body + b".\r\n", [700])
    assert (result.refusal, result.content) == (None, body)


async def test_after_a_message_with_long_lines_commands_keep_their_line_limit(
    spool: Spool, listening_handler
):
    port = await listening_handler(RelayHandler(spool, policy()))
    data = b"Subject: long\r\n\r\n" + b"x" * 3000 + b"\r\n"

    def send() -> tuple[int, bytes]:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.sendmail("anna.schmidt@example.com", ["kim@customer.test"], data)
            return client.docmd("NOOP", "n" * 2000)

    code, _ = await asyncio.to_thread(send)

    assert code == 500  # aiosmtpd: "Command line too long"
    assert spool.load(spool.list()[0]).data == data


async def test_a_client_gets_back_exactly_its_dot_lines_through_the_relay(
    spool: Spool, listening_handler
):
    port = await listening_handler(RelayHandler(spool, policy()))
    data = b"Subject: dots\r\n\r\n.\r\n..\r\n.leading\r\nend.\r\n"

    def send() -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.sendmail("anna.schmidt@example.com", ["kim@customer.test"], data)
            client.sendmail("anna.schmidt@example.com", ["lee@customer.test"], b"")

    await asyncio.to_thread(send)

    first, second = (spool.load(queue_id) for queue_id in spool.list())
    assert first.data == data
    # smtplib ends every message, even an empty one, with a CRLF.
    assert second.data == b"\r\n" and second.envelope.rcpts == ("lee@customer.test",)


async def test_the_same_commands_as_aiosmtpd_are_offered(spool: Spool, listening_handler):
    # DataSMTP lists its methods to aiosmtpd once per class (__dir__): nothing may go missing.
    ours = await listening_handler(RelayHandler(spool, policy()))
    loop = asyncio.get_running_loop()
    plain = await loop.create_server(lambda: SMTP(RelayHandler(spool, policy())), "127.0.0.1", 0)
    theirs = plain.sockets[0].getsockname()[1]

    def ask(port: int) -> list[tuple[int, bytes]]:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            return [client.docmd("HELP"), client.docmd("HELP", "DATA"), client.docmd("NOOP")]

    try:
        assert await asyncio.to_thread(ask, ours) == await asyncio.to_thread(ask, theirs)
    finally:
        plain.close()
        await plain.wait_closed()
