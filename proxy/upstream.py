"""Where copies go: an SMTP server (`smtp://`, `smtps://`) or a local Maildir.

`deliver(mail_from, rcpts, data)` answers with one reply per recipient, as
the upstream gave it (RFC 5321 4.2.1): 2xx delivered, 4xx temporary (retry
later), 5xx permanent. A failure of the whole transaction (no connection,
MAIL FROM or DATA refused) gives every recipient the same reply; a network
failure counts as temporary (code 451, our own text).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import aiosmtplib

from config import Config, UpstreamEndpoint
from config.durable import SHARED, write_durably
from proxy.errors import ProxyError

NETWORK_FAILURE = 451
CLOSING, START_INPUT, COMPLETED = 421, 354, 250  # RFC 5321 4.2.2
_LINE_ENDS = re.compile(rb"\r\n|\n|\r")
_KEY = re.compile(r"[A-Za-z0-9._-]{1,200}")  # a key that is safe as a Maildir file name
POOL_IDLE_SECONDS = 30.0  # below the 5-minute idle timeout servers commonly use (RFC 5321 4.5.3.2)
POOL_MAX_IDLE = 8


@dataclass(frozen=True)
class Reply:
    code: int
    text: str

    @property
    def ok(self) -> bool:
        return 200 <= self.code < 300

    @property
    def permanent(self) -> bool:
        return self.code >= 500

    def __str__(self) -> str:
        return f"{self.code} {self.text}".strip()


class Upstream(Protocol):
    # Whether the upstream said 8BITMIME (RFC 6152) when we last connected: then
    # additions to a 7bit part may go out as 8bit text instead of quoted-printable.
    accepts_8bit: bool

    async def deliver(
        self, mail_from: str, rcpts: Sequence[str], data: bytes, *, key: str | None = None
    ) -> dict[str, Reply]:
        """One reply per recipient. `key` names the copy across attempts and
        restarts ("<queue id>.<copy id>"): an upstream that can tell it was
        already delivered (the Maildir) does not deliver it twice."""
        ...

    async def close(self) -> None: ...


def open_upstream(
    endpoint: UpstreamEndpoint,
    *,
    data_dir: Path,
    local_hostname: str,
    username: str | None = None,
    password: str | None = None,
    ca_file: Path | None = None,
) -> Upstream:
    """`ca_file`: the PEM bundle that verifies the upstream's certificate
    (default: the system's trust store)."""
    if endpoint.scheme == "maildir":
        assert endpoint.path is not None
        return MaildirUpstream(data_dir / endpoint.path)  # an absolute path stays absolute
    context = ssl.create_default_context(cafile=str(ca_file)) if ca_file else None
    return SmtpUpstream(
        endpoint,
        local_hostname=local_hostname,
        username=username,
        password=password,
        tls_context=context,
    )


def upstream_from_config(cfg: Config) -> Upstream:
    """The upstream `[upstream]` describes, with its secret and CA file resolved."""
    ca_file = cfg.upstream.ca_file
    return open_upstream(
        cfg.upstream_endpoint,
        data_dir=cfg.data.dir,
        local_hostname=cfg.relay.hostname,
        username=cfg.upstream.username,
        password=cfg.upstream_password,
        ca_file=cfg.config_dir / ca_file if ca_file else None,
    )


# --- Maildir -----------------------------------------------------------------


class MaildirUpstream:
    """A local outbox in Maildir format (one file per copy, in new/).

    Delivery follows the Maildir spec: write into tmp/, fsync, then move into
    new/. The envelope is kept as Return-Path and one Delivered-To per
    recipient, as a local delivery agent writes them.

    Exactly once (issue 14, finding 10): a copy with a key gets the file name
    "<queue id>.<copy id>.<host>", the same on every attempt and after every
    restart. The complete file is hard-linked into new/ (link, unlike rename,
    never replaces an existing name), so a copy delivered before a crash but
    not yet recorded in the spool is found, in new/ or (moved there by a
    reader, with its ":2,<flags>" suffix) in cur/, and not written again.
    A reader that deletes the file before the relay restarts gets it again:
    the outbox can only remember what it still holds.

    A file holds the copy as the SMTP upstream would receive it: CRLF line ends
    throughout (`crlf_lines`, without the dot-stuffing), so the outbox and the
    wire agree byte for byte and a DKIM signature checks on the file as it is.
    Maildir readers (Dovecot, Python's mailbox) read CRLF files.
    """

    _counter = itertools.count()
    accepts_8bit = False  # no EHLO to go by: 7bit, like the most cautious server

    def __init__(self, path: Path) -> None:
        self.path = path

    def _host(self) -> str:
        return socket.gethostname().replace("/", r"\057").replace(":", r"\072")

    def _unique_name(self) -> str:
        # time.M<usec>P<pid>Q<counter>.<host>: unique per host, process and call.
        now = time.time()
        return (
            f"{int(now)}.M{int(now % 1 * 1e6)}P{os.getpid()}Q{next(self._counter)}.{self._host()}"
        )

    def _name(self, key: str | None) -> str:
        if key is None or not _KEY.fullmatch(key):
            return self._unique_name()  # no key (sender notices): nothing to repeat
        return f"{key}.{self._host()}"

    def _holds(self, name: str) -> bool:
        """Whether the outbox already has this copy, unread (new/) or seen (cur/)."""
        if (self.path / "new" / name).exists():
            return True
        with os.scandir(self.path / "cur") as entries:
            return any(e.name == name or e.name.startswith(name + ":") for e in entries)

    def _write(self, mail_from: str, rcpts: Sequence[str], data: bytes, key: str | None) -> bool:
        """False if the copy was there already (delivered before a restart)."""
        for sub in ("tmp", "new", "cur"):
            (self.path / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
        name = self._name(key)
        if key is not None and self._holds(name):
            return False
        trace = f"Return-Path: <{mail_from}>\r\n" + "".join(f"Delivered-To: {r}\r\n" for r in rcpts)
        # Our own tmp name: a file a killed process left under the same key is not ours to reuse.
        tmp_path = self.path / "tmp" / f"{name}.P{os.getpid()}Q{next(self._counter)}"
        # Exclusive: another attempt of the same copy that got there first wins.
        return write_durably(
            self.path / "new" / name,
            [trace.encode("utf-8"), crlf_lines(data)],
            tmp_path=tmp_path,
            mode=SHARED,
            exclusive=True,
        )

    async def deliver(
        self, mail_from: str, rcpts: Sequence[str], data: bytes, *, key: str | None = None
    ) -> dict[str, Reply]:
        try:
            written = await asyncio.to_thread(self._write, mail_from, rcpts, data, key)
        except OSError as exc:
            reply = Reply(NETWORK_FAILURE, f"4.3.0 cannot write to maildir {self.path}: {exc}")
        else:
            done = "delivered" if written else "already delivered"
            reply = Reply(250, f"2.0.0 {done} to maildir {self.path}")
        return {rcpt: reply for rcpt in rcpts}

    async def close(self) -> None:
        return None


# --- SMTP --------------------------------------------------------------------


def _response_reply(exc: aiosmtplib.SMTPResponseException) -> Reply:
    return Reply(exc.code, exc.message)


async def _mail(client: aiosmtplib.SMTP, mail_from: str, options: list[str], encoding: str) -> None:
    if mail_from:
        await client.mail(mail_from, options=options, encoding=encoding)
        return
    # The null sender of bounces (RFC 5321 4.5.5); aiosmtplib's mail() refuses "<>".
    if client.is_ehlo_or_helo_needed:
        await client.ehlo()
    args = [option.encode("ascii") for option in options]
    response = await client.execute_command(b"MAIL", b"FROM:<>", *args)
    if response.code != 250:
        raise aiosmtplib.SMTPSenderRefused(response.code, response.message, "")


class _StaleConnection(ProxyError):
    """A kept connection the server had closed, found at MAIL (nothing sent yet)."""


def crlf_lines(message: bytes) -> bytes:
    """The message with CRLF line ends only, ending with one: a bare CR or LF
    ends a line too (RFC 5321 2.3.8 forbids them on the wire; aiosmtplib and
    Postfix turn them into CRLF alike). Three counts in C when it is CRLF already
    (copies from the rewriter are)."""
    crlf = message.count(b"\r\n")
    if message.count(b"\n") != crlf or message.count(b"\r") != crlf:
        message = _LINE_ENDS.sub(b"\r\n", message)
    if not message.endswith(b"\r\n"):
        message += b"\r\n"
    return message


def wire_form(message: bytes) -> bytes:
    """The message as DATA sends it (RFC 5321 4.5.2): CRLF line ends, a dot
    doubled at the start of every line, then the end-of-data line. The bytes
    aiosmtplib's data() sends, without its two regular-expression passes over
    the whole message. Lines over 998 octets go as they are (parts the rewriter
    left alone): folding them would break signatures and attachments, and the
    next hop decides (Postfix accepts them; its smtp client folds at
    smtp_line_length_limit when it sends them on)."""
    message = crlf_lines(message).replace(b"\r\n.", b"\r\n..")
    if message.startswith(b"."):
        message = b"." + message
    return message + b".\r\n"


async def _data(client: aiosmtplib.SMTP, message: bytes) -> aiosmtplib.SMTPResponse:
    """DATA as client.data() does it (raising SMTPDataError on a refusal), with
    the message prepared by wire_form, through the client's public protocol calls."""
    start = await client.execute_command(b"DATA")
    if start.code != START_INPUT:
        raise aiosmtplib.SMTPDataError(start.code, start.message)
    if client.protocol is None:
        raise aiosmtplib.SMTPServerDisconnected("Connection lost")
    client.protocol.write(wire_form(message))
    response = await client.protocol.read_response(timeout=client.timeout)
    if response.code != COMPLETED:
        raise aiosmtplib.SMTPDataError(response.code, response.message)
    return response


class SmtpUpstream:
    """SMTP delivery through aiosmtplib, with idle connections kept for reuse.

    TLS: `smtps://` is implicit TLS; `smtp://...?tls=required` insists on
    STARTTLS, both with certificate verification. Plain `smtp://` uses
    STARTTLS when the server offers it, without verification, like Postfix's
    `smtp_tls_security_level = may`: opportunistic encryption is no worse than
    plain text, and refusing a self-signed relay would only hold mail back.
    """

    def __init__(
        self,
        endpoint: UpstreamEndpoint,
        *,
        local_hostname: str,
        username: str | None = None,
        password: str | None = None,
        tls_context: ssl.SSLContext | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.endpoint = endpoint
        self.local_hostname = local_hostname
        self.username = username
        self.password = password
        self.tls_context = tls_context
        self.timeout = timeout
        self._idle: list[tuple[float, aiosmtplib.SMTP]] = []
        self.accepts_8bit = False  # until a connection shows otherwise

    def _client(self) -> aiosmtplib.SMTP:
        implicit = self.endpoint.scheme == "smtps"
        verify = self.endpoint.tls_required
        return aiosmtplib.SMTP(
            hostname=self.endpoint.host,
            port=self.endpoint.port,
            local_hostname=self.local_hostname,
            timeout=self.timeout,
            use_tls=implicit,
            start_tls=True if (verify and not implicit) else None,
            validate_certs=verify,
            tls_context=self.tls_context if verify else None,
        )

    async def _connect(self) -> aiosmtplib.SMTP:
        client = self._client()
        await client.connect()
        if self.username and self.password is not None:
            await client.login(self.username, self.password)
        return client

    def _take_idle(self) -> aiosmtplib.SMTP | None:
        while self._idle:
            since, client = self._idle.pop()
            if client.is_connected and time.monotonic() - since < POOL_IDLE_SECONDS:
                return client
            client.close()
        return None

    def _give_back(self, client: aiosmtplib.SMTP) -> None:
        if client.is_connected and len(self._idle) < POOL_MAX_IDLE:
            self._idle.append((time.monotonic(), client))
        else:
            client.close()

    async def deliver(
        self, mail_from: str, rcpts: Sequence[str], data: bytes, *, key: str | None = None
    ) -> dict[str, Reply]:
        # SMTP has no way to ask whether a copy arrived before (`key` is unused):
        # a copy whose 250 was on its way when the relay died goes out again
        # (docs/reliability.md, "SMTP duplicate window").
        # A kept connection is used without a probe (RSET): if the server closed it
        # meanwhile, MAIL says so before anything was sent, and a new one is made.
        client = self._take_idle()
        try:
            replies = None
            if client is not None:
                try:
                    replies = await self._transaction(client, mail_from, rcpts, data, kept=True)
                except _StaleConnection:
                    client.close()
                    client = None
            if client is None:
                client = await self._connect()
                replies = await self._transaction(client, mail_from, rcpts, data, kept=False)
            self.accepts_8bit = client.supports_extension("8bitmime")  # its EHLO is known now
        except aiosmtplib.SMTPResponseException as exc:
            replies = {r: _response_reply(exc) for r in rcpts}
            if client is not None:
                client.close()
            return replies
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            if client is not None:
                client.close()
            text = f"4.4.1 upstream {self.endpoint.host}:{self.endpoint.port}: {exc}"
            return {r: Reply(NETWORK_FAILURE, text) for r in rcpts}
        self._give_back(client)
        return replies

    async def _transaction(
        self,
        client: aiosmtplib.SMTP,
        mail_from: str,
        rcpts: Sequence[str],
        data: bytes,
        *,
        kept: bool,
    ) -> dict[str, Reply]:
        needs_utf8 = not (mail_from + "".join(rcpts)).isascii()
        if needs_utf8 and not client.supports_extension("smtputf8"):
            # RFC 6531 3.4: never send non-ASCII addresses to a server that did not
            # offer SMTPUTF8; no downgrade exists for them, so they bounce (5.6.7).
            host = f"{self.endpoint.host}:{self.endpoint.port}"
            text = f"5.6.7 upstream {host} does not offer SMTPUTF8 for non-ASCII addresses"
            return {r: Reply(553, text) for r in rcpts}
        options = ["SMTPUTF8"] if needs_utf8 else []
        if not data.isascii() and client.supports_extension("8bitmime"):
            options.append("BODY=8BITMIME")
        encoding = "utf-8" if needs_utf8 else "ascii"
        try:
            await _mail(client, mail_from, options, encoding)
        except (aiosmtplib.SMTPServerDisconnected, ConnectionError) as exc:
            if kept:
                raise _StaleConnection from exc
            raise
        except aiosmtplib.SMTPResponseException as exc:
            if kept and exc.code == CLOSING:
                raise _StaleConnection from exc
            raise
        replies: dict[str, Reply] = {}
        for rcpt in rcpts:
            try:
                response = await client.rcpt(rcpt, encoding=encoding)
                replies[rcpt] = Reply(response.code, response.message)
            except aiosmtplib.SMTPRecipientRefused as exc:
                replies[rcpt] = _response_reply(exc)
        accepted = [r for r, reply in replies.items() if reply.ok]
        if not accepted:
            await client.rset()
            return replies
        try:
            response = await _data(client, data)
        except aiosmtplib.SMTPDataError as exc:
            return replies | {r: _response_reply(exc) for r in accepted}
        return replies | {r: Reply(response.code, response.message) for r in accepted}

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for _, client in idle:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()
