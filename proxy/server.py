"""The SMTP side: an aiosmtpd handler that turns SMTP events into spool calls.

Thin on purpose (aiosmtpd's "implement only the hooks you care about"): who
may relay is `RelayPolicy`, storing is `Spool.put`, and the answer 250 is
given only after `put` returned, i.e. after the message is synced to disk.

One snapshot per SMTP session: the protocol (`SessionSMTP`) reads the relay's
policy once when the client connects, and every command of that session is
judged by it (trusted networks, limits, sender checks), also after STARTTLS;
a reload reaches the next connection (config/running.py).

Never an open relay: a client that neither authenticated nor comes from a
trusted network is refused at MAIL FROM (530, it must authenticate), and
again at RCPT TO and DATA in case a client skips ahead (RFC 5321 3.3 lets
servers refuse there). Who may send as which address is `SenderAuthorization`
(proxy/senders.py); AUTH itself happens in proxy/listeners.py.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from ipaddress import IPv4Network, IPv6Network
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from config import Config
from config.logfields import quoted
from proxy import metrics
from proxy.auth import Identity
from proxy.senders import NULL_SENDER_REFUSED, SenderAuthorization
from proxy.smtpdata import DataSMTP
from proxy.spool import Envelope as SpoolEnvelope
from proxy.spool import Spool, SpoolWriteError

log = logging.getLogger("sigrelay.proxy.server")

AUTH_REQUIRED = "530 5.7.0 Authentication required: this client may not relay"
# RFC 5321 4.5.3.1.10: 452 (not 552) so the client sends the rest in another transaction.
TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients"
NO_SPACE = "452 4.3.1 Insufficient system storage; try again later"
ROUTING_REFUSED = (
    "550 5.7.1 Sender-specified routing (%, !, source routes, quoted @) is not accepted"
)
# RFC 6531 3.5: a non-ASCII address without SMTPUTF8 on MAIL FROM.
NEEDS_SMTPUTF8 = "553 5.6.7 Non-ASCII addresses need the SMTPUTF8 parameter (RFC 6531)"
NOT_UTF8 = {
    "mail": "553 5.1.7 The sender address is not valid UTF-8",
    "rcpt": "553 5.1.3 The recipient address is not valid UTF-8",
}
# RFC 5321 4.1.2: no control character (NUL, CR, ESC, DEL, ...) belongs in a
# mailbox, quoted or not; downstream they truncate strings or forge log lines.
CONTROL_CHARACTERS = {
    "mail": "501 5.1.7 The sender address contains a control character",
    "rcpt": "501 5.1.3 The recipient address contains a control character",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# What reading the headers raised (a bug of ours or of the email package):
# the client gets a status line, the log one line, never a traceback.
HEADERS_UNREADABLE = "554 5.6.0 The message headers cannot be read; check the From: header"
# aiosmtpd handles pipelined commands and sends enhanced codes but does not say so.
EXTRA_EHLO_KEYWORDS = ("250-PIPELINING", "250-ENHANCEDSTATUSCODES")


def identity_of(session: Session) -> Identity | None:
    """The identity the client proved with AUTH on this connection, if any."""
    return session.auth_data if isinstance(session.auth_data, Identity) else None


def address_problem(address: str, smtputf8: bool, stage: str) -> str | None:
    """The status line refusing an envelope address, or None. aiosmtpd keeps
    bytes that are not UTF-8 as surrogates (surrogateescape): such an address
    could be neither hashed, stored nor sent on, so it is refused here."""
    try:
        address.encode("utf-8")
    except UnicodeEncodeError:
        return NOT_UTF8[stage]
    if _CONTROL.search(address):
        return CONTROL_CHARACTERS[stage]
    if not address.isascii() and not smtputf8:
        return NEEDS_SMTPUTF8
    return None


def uses_routing(address: str) -> bool:
    """Open-relay tricks in a recipient: the percent hack (user%host@us), bang
    paths (host!user), source routes (@a:user@b) and quoted local parts that
    hide another domain ("user@host"@us). A next hop may honour them and relay
    for us (RFC 5321 3.6.1, 3.6.2; Postfix allow_untrusted_routing)."""
    local = address.rpartition("@")[0] if "@" in address else address
    return address.startswith("@") or any(c in local for c in "%!@:")


@dataclass(frozen=True)
class RelayPolicy:
    """What one SMTP session is judged by, from one Config snapshot."""

    trusted_networks: tuple[IPv4Network | IPv6Network, ...]
    max_recipients: int
    max_message_size: int
    senders: SenderAuthorization | None = None  # None: no sender checks (spool-path tests)

    @classmethod
    def of(cls, cfg: Config) -> RelayPolicy:
        relay = cfg.relay
        return cls(
            trusted_networks=tuple(relay.trusted_networks),
            max_recipients=relay.max_recipients,
            max_message_size=relay.max_message_size,
            senders=SenderAuthorization(cfg),
        )

    def trusted(self, peer: object) -> bool:
        if not isinstance(peer, tuple) or not peer:
            return False  # a Unix socket or unknown peer is not trusted by default
        try:
            address = ipaddress.ip_address(peer[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        return any(address in network for network in self.trusted_networks)


class PolicySession(Session):
    """An aiosmtpd session that carries the policy its connection started with."""

    def __init__(self, loop: Any, policy: RelayPolicy) -> None:
        super().__init__(loop)
        self.policy = policy


class RelayHandler:
    def __init__(
        self,
        spool: Spool,
        policy: Callable[[], RelayPolicy],
        on_queued: Callable[[str], None] = lambda queue_id: None,
    ) -> None:
        """`policy`: the policy of a session starting now (read once per connection)."""
        self.spool = spool
        self.policy = policy
        self.on_queued = on_queued

    def policy_of(self, session: Session) -> RelayPolicy:
        if isinstance(session, PolicySession):
            return session.policy
        return self.policy()  # a protocol not made by us (tests of aiosmtpd's own)

    def may_relay(self, session: Session) -> bool:
        return identity_of(session) is not None or self.policy_of(session).trusted(session.peer)

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list
    ) -> list[str]:
        session.host_name = hostname
        return [*responses[:-1], *EXTRA_EHLO_KEYWORDS, responses[-1]]

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if not self.may_relay(session):
            return _refuse(session, AUTH_REQUIRED, "not-trusted", "mail")
        problem = address_problem(address, envelope.smtp_utf8, "mail")
        if problem is not None:
            detail = "from=" + quoted(f"<{address}>")
            return _refuse(session, problem, "bad-address", "mail", detail)
        senders = self.policy_of(session).senders
        if senders is not None:
            refusal = senders.check_envelope(identity_of(session), _sender(address))
            if refusal is not None:
                reason = "null-sender" if refusal is NULL_SENDER_REFUSED else "sender"
                detail = "from=" + quoted(f"<{address}>")
                return _refuse(session, refusal.status, reason, "mail", detail)
        # SIZE= above the limit was already refused by aiosmtpd (552), from data_size_limit.
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if not self.may_relay(session):
            return _refuse(session, AUTH_REQUIRED, "not-trusted", "rcpt")
        problem = address_problem(address, envelope.smtp_utf8, "rcpt")
        if problem is not None:
            detail = "to=" + quoted(f"<{address}>")
            return _refuse(session, problem, "bad-address", "rcpt", detail)
        if uses_routing(address):
            return _refuse(
                session, ROUTING_REFUSED, "routing", "rcpt", "to=" + quoted(f"<{address}>")
            )
        if len(envelope.rcpt_tos) >= self.policy_of(session).max_recipients:
            return _refuse(session, TOO_MANY_RECIPIENTS, "too-many-recipients", "rcpt")
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if not self.may_relay(session) or not envelope.rcpt_tos:
            return _refuse(session, AUTH_REQUIRED, "not-trusted", "data")
        data = envelope.original_content or envelope.content
        assert isinstance(data, bytes), "the server runs with decode_data=False"
        senders = self.policy_of(session).senders
        if senders is not None:
            identity = identity_of(session)
            sender = _sender(envelope.mail_from)
            try:
                refusal = senders.check_from(identity, data, sender, utf8=envelope.smtp_utf8)
            except Exception as exc:  # bounded parsing should make this unreachable
                detail = f"error={type(exc).__name__}"
                return _refuse(session, HEADERS_UNREADABLE, "malformed-header", "data", detail)
            if refusal is not None:
                reason = "malformed-header" if refusal.malformed else "from-header"
                detail = "why=" + quoted(refusal.reason)
                return _refuse(session, refusal.status, reason, "data", detail)
        spooled = SpoolEnvelope(
            mail_from=_sender(envelope.mail_from),
            rcpts=tuple(envelope.rcpt_tos),
            received_at=datetime.now(UTC),
            client_address=str(session.peer[0]) if isinstance(session.peer, tuple) else "",
            client_name=session.host_name or "",
            smtputf8=envelope.smtp_utf8,
            tls=server.transport is not None
            and server.transport.get_extra_info("ssl_object") is not None,
            authenticated=identity_of(session) is not None,
        )
        try:
            # fsync blocks: run it off the event loop so other sessions and deliveries go on.
            queue_id = await self.spool.run(self.spool.put, spooled, data)
        except SpoolWriteError as exc:
            return _refuse(session, NO_SPACE, "spool-write-failed", "data", "error=" + quoted(exc))
        log.info(
            "queued queue_id=%s from=%s rcpts=%d size=%d client=%s",
            queue_id,
            quoted(f"<{spooled.mail_from}>"),
            len(spooled.rcpts),
            len(data),
            spooled.client_address,
        )
        self.on_queued(queue_id)
        return f"250 2.0.0 Ok: queued as {queue_id}"


class SessionSMTP(DataSMTP):
    """One client connection, judged by the policy read when it was made: the
    session made again after STARTTLS (RFC 3207 4.2) keeps the same one."""

    def __init__(self, handler: RelayHandler, policy: RelayPolicy, **options: Any) -> None:
        super().__init__(handler, data_size_limit=policy.max_message_size, **options)
        self.policy = policy

    def _create_session(self) -> Session:
        return PolicySession(self.loop, self.policy)


def smtp_factory(handler: RelayHandler, *, hostname: str) -> Callable[[], SMTP]:
    """What `loop.create_server` calls for each connection: one SMTP protocol
    per client, all in the loop that also runs delivery."""

    def factory() -> SMTP:
        return SessionSMTP(
            handler,
            handler.policy(),
            hostname=hostname,
            ident="sigrelay",
            enable_SMTPUTF8=True,
            decode_data=False,
        )

    return factory


def _sender(mail_from: str | None) -> str:
    """The envelope sender with the null sender (RFC 5321 4.5.5) as "": aiosmtpd
    keeps it as "<>" (and needs that to know MAIL was given); the spool, the sender
    checks and "never bounce a bounce" know it as ""."""
    return "" if mail_from in (None, "", "<>") else mail_from


def _refuse(session: Session, status: str, reason: str, stage: str, detail: str = "") -> str:
    """One log line and one metric per refusal, then the status line for the client."""
    metrics.REJECTED.labels(reason).inc()
    log.info("refused client=%s reason=%s stage=%s %s", session.peer, reason, stage, detail)
    return status
