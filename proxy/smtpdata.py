"""Reading the message after DATA in a few large steps instead of line by line.

aiosmtpd reads DATA one line at a time (a coroutine step, a buffer copy and a
flow-control check per line: ~500 of each for a 40 KB message, the largest
part of the relay's cost of accepting mail). `read_data` asks the stream for
everything up to the next ".<CRLF>" instead: the end of data (RFC 5321
4.1.1.4) always ends so, and most lines of a message do not, so a message is
read in a handful of steps, each a search in C.

The result is what aiosmtpd's own reader gives: the lines as sent, with the
transparency dot removed (RFC 5321 4.5.2); 552 when the message is larger than
the size limit, only after the whole message was read (RFC 5321 4.2.5), and
bytes the client sent after the end of data (pipelined commands) left in the
stream for the command loop.

Unlike aiosmtpd, a text line longer than 998 octets is accepted: RFC 5321
4.5.3.1 asks receivers not to refuse mail for that ("the maximum ... that
implementations must be able to receive", and 4.5.3.1.6 lets them accept more),
Postfix accepts such lines, and real mail carries them (HTML written on one
line, long URLs). Only the message size bounds what is read. Command lines
(MAIL, RCPT, ...) keep aiosmtpd's limits: the reader's limit is restored after
DATA. The rewriter re-encodes the parts it changes so that every line it
writes is <= 998 octets again; the parts it leaves alone go on as they came.

DATA has an overall deadline (`[relay] data_timeout`): aiosmtpd's idle timer
only sees whole commands, so a client trickling a byte at a time (slowloris)
would otherwise hold a connection and its buffer for as long as it likes.
After the deadline the client gets 421 and the connection is closed (RFC
5321 4.5.3.2.6 suggests 10 minutes for the whole of DATA).

Source routes in MAIL and RCPT (`<@a,@b:user@c>`, RFC 5321 4.1.2 obs
syntax) are refused here: aiosmtpd's parser drops the route silently, so
the handler would never see it. RFC 5321 appendix C lets servers ignore
them; we refuse them, as the README promises, so a client learns at once.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
from dataclasses import dataclass

from aiosmtpd.smtp import MISSING, SMTP, syntax

from proxy import metrics

log = logging.getLogger("sigrelay.proxy.smtpdata")

END_LINE = b".\r\n"
END_OF_DATA = b"\r\n.\r\n"
TOO_MUCH = "552 Error: Too much mail data"
SOURCE_ROUTE = "550 5.7.1 Source routes (<@host:user@domain>) are not accepted; use user@domain"
DATA_DEADLINE = "421 4.4.2 DATA not completed in %d seconds; closing connection"


@dataclass(frozen=True)
class DataRead:
    content: bytes  # b"" when refused
    refusal: str | None = None  # the status line when the message must be refused


@functools.cache
def _command_names(cls: type) -> list[str]:
    return [name for name in dir(cls) if name.startswith(("smtp_", "auth_"))]


def _unstuff(data: bytes) -> bytes:
    """Remove the transparency dot of every line that starts with one."""
    data = data.replace(b"\r\n.", b"\r\n")
    return data[1:] if data.startswith(b".") else data


async def read_data(reader: asyncio.StreamReader, size_limit: int | None) -> DataRead:
    """Everything up to the end-of-data line, which is consumed too. Raises
    asyncio.IncompleteReadError when the client goes away before it."""
    # The reader's limit bounds one search step (and what it buffers before
    # pausing the socket); aiosmtpd sets it to the line limit for commands.
    # During DATA one step may be as long as the message may be.
    original = reader._limit  # type: ignore[attr-defined]
    step_limit = size_limit + len(END_OF_DATA) if size_limit else sys.maxsize
    reader._limit = max(original, step_limit)  # type: ignore[attr-defined]
    try:
        return await _read(reader, size_limit)
    finally:
        reader._limit = original  # type: ignore[attr-defined]


async def _read(reader: asyncio.StreamReader, size_limit: int | None) -> DataRead:
    chunks: list[bytes] = []
    size = 0
    too_much = False
    tail = b""  # the last octets read, so an end of data across two steps is seen
    while True:
        try:
            chunk = await reader.readuntil(END_LINE)
        except asyncio.LimitOverrunError as overrun:
            # Longer than the size limit without a ".<CRLF>": refused; keep reading
            # (and forgetting) until the end of data.
            too_much = True
            chunks.clear()
            chunk = await reader.readexactly(overrun.consumed)
            tail = (tail + chunk)[-2:]
            continue
        # Every step ends with ".<CRLF>"; it ends the data when the dot starts a
        # line: right after a CRLF, or as the very first line (an empty message).
        ended = (tail + chunk).endswith(END_OF_DATA) or (not tail and chunk == END_LINE)
        tail = (tail + chunk)[-2:]
        if ended:
            chunk = chunk[: -len(END_LINE)]
        size += len(chunk)
        if size_limit and size > size_limit:
            too_much = True
            chunks.clear()
        if not too_much:
            chunks.append(chunk)
        if ended:
            break
    if too_much:
        return DataRead(b"", TOO_MUCH)
    return DataRead(_unstuff(b"".join(chunks)))


def has_source_route(arg: str | None, keyword: str) -> bool:
    """`FROM:<@a:x@b>` / `TO:<@a:x@b>`: a route before the mailbox."""
    if arg is None:
        return False
    rest = arg[len(keyword) :] if arg[: len(keyword)].upper() == keyword else arg
    return rest.lstrip(" ").lstrip("<").lstrip(" ").startswith("@")


class DataSMTP(SMTP):
    """aiosmtpd's SMTP with DATA read by `read_data` under a deadline and
    source routes refused; everything else as aiosmtpd does it.
    `data_timeout`: seconds the client has for all of DATA (None: no deadline)."""

    def __init__(self, handler: object, *, data_timeout: float | None = None, **options):
        super().__init__(handler, **options)
        self.data_timeout = data_timeout

    def __dir__(self) -> list[str]:
        # aiosmtpd finds its command and AUTH methods in dir(self) for every new
        # connection (inspect.getmembers, a getattr on each of ~250 names). They
        # are methods of the class: listed once per class, the rest left out.
        return _command_names(type(self))

    @syntax("MAIL FROM: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_MAIL(self, arg: str | None) -> None:
        if has_source_route(arg, "FROM:") and self.session and self.session.host_name:
            metrics.REJECTED.labels("source-route").inc()
            log.info("refused client=%s reason=source-route stage=mail", self.session.peer)
            await self.push(SOURCE_ROUTE)
            return
        await super().smtp_MAIL(arg)

    @syntax("RCPT TO: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_RCPT(self, arg: str | None) -> None:
        mail_given = self.envelope is not None and self.envelope.mail_from
        if has_source_route(arg, "TO:") and mail_given and self.session:
            metrics.REJECTED.labels("source-route").inc()
            log.info("refused client=%s reason=source-route stage=rcpt", self.session.peer)
            await self.push(SOURCE_ROUTE)
            return
        await super().smtp_RCPT(arg)

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        if await self.check_helo_needed():
            return
        if await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        if self.data_timeout is not None:
            # aiosmtpd's idle timer runs from the DATA command: the deadline is ours.
            self._reset_timeout(self.data_timeout + 60)
        try:
            async with asyncio.timeout(self.data_timeout):
                result = await read_data(self._reader, self.data_size_limit)
        except TimeoutError:
            assert self.session is not None
            metrics.REJECTED.labels("data-deadline").inc()
            log.info("refused client=%s reason=data-deadline stage=data", self.session.peer)
            await self.push(DATA_DEADLINE % self.data_timeout)
            if self.transport is not None:
                self.transport.close()
            return
        except asyncio.IncompleteReadError:
            log.info("connection closed during DATA")
            return
        except asyncio.CancelledError:
            # The connection was lost during DATA (aiosmtpd cancels the session).
            log.info("connection lost during DATA")
            self._writer.close()
            raise
        if result.refusal is not None:
            await self.push(result.refusal)
            self._set_post_data_state()
            return
        assert not self._decode_data, "the relay keeps message bytes as they came"
        self.envelope.content = result.content
        self.envelope.original_content = result.content
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push("250 OK" if status is MISSING else status)
