"""A real SMTP server on loopback that keeps what it receives: the upstream in tests.

It runs aiosmtpd in the test's own event loop, so a test can await
`wait_for(n)` instead of sleeping. `fail_with` makes it answer every RCPT (or
only the listed addresses) with a chosen status, to play a broken upstream.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiosmtpd.smtp import SMTP, Envelope, Session

from peers import free_port


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    mail_options: tuple[str, ...] = ()


@dataclass
class SinkHandler:
    received: list[Received] = field(default_factory=list)
    fail_with: dict[str, str] = field(default_factory=dict)  # rcpt (or "*") -> status line
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def handle_RCPT(self, server, session: Session, envelope: Envelope, address, options):
        status = self.fail_with.get(address.lower()) or self.fail_with.get("*")
        if status:
            return status
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or envelope.content
        assert isinstance(data, bytes)
        options = tuple(envelope.mail_options)
        item = Received(envelope.mail_from, tuple(envelope.rcpt_tos), data, options)
        async with self._changed:
            self.received.append(item)
            self._changed.notify_all()
        return "250 2.0.0 stored"

    async def wait_for(self, count: int, timeout: float = 15) -> list[Received]:
        """Wait until at least `count` messages arrived; fail the test on timeout."""
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: len(self.received) >= count), timeout
            )
            return list(self.received)


class _SinkSMTP(SMTP):
    # An upstream like Postfix, which takes lines over 998 octets (its
    # line_length_limit only splits them for storage); aiosmtpd refuses them.
    line_length_limit = 64 * 1024 * 1024


class SmtpSink:
    def __init__(
        self, host: str = "127.0.0.1", port: int | None = None, *, smtputf8: bool = True
    ) -> None:
        """`smtputf8`: offer SMTPUTF8 (RFC 6531), as Postfix does by default."""
        self.host = host
        self.smtputf8 = smtputf8
        self.port = port or free_port()
        self.handler = SinkHandler()
        self._server: asyncio.base_events.Server | None = None

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    async def start(self) -> None:
        loop = asyncio.get_running_loop()

        def factory() -> SMTP:
            return _SinkSMTP(
                self.handler,
                hostname="sink.test",
                enable_SMTPUTF8=self.smtputf8,
                decode_data=False,
            )

        self._server = await loop.create_server(factory, self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
