"""The SMTP side: an aiosmtpd handler that turns SMTP events into spool calls.

Thin on purpose (aiosmtpd's "implement only the hooks you care about"): who
may relay is `RelayPolicy`, storing is `Spool.put`, and the answer 250 is
given only after `put` returned, i.e. after the message is synced to disk.

Never an open relay: a client outside the trusted networks is refused at
MAIL FROM (530, it must authenticate; AUTH arrives with issue 5), and again at
RCPT TO in case a client skips ahead (RFC 5321 3.3 lets servers refuse there).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from ipaddress import IPv4Network, IPv6Network

from aiosmtpd.smtp import SMTP, Envelope, Session

from proxy.spool import Envelope as SpoolEnvelope
from proxy.spool import Spool, SpoolWriteError

log = logging.getLogger("sigrelay.proxy.server")

AUTH_REQUIRED = "530 5.7.0 Authentication required: this client may not relay"
# RFC 5321 4.5.3.1.10: 452 (not 552) so the client sends the rest in another transaction.
TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients"
NO_SPACE = "452 4.3.1 Insufficient system storage; try again later"


@dataclass(frozen=True)
class RelayPolicy:
    trusted_networks: tuple[IPv4Network | IPv6Network, ...]
    max_recipients: int
    max_message_size: int

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


class RelayHandler:
    def __init__(
        self,
        spool: Spool,
        policy: RelayPolicy,
        on_queued: Callable[[str], None] = lambda queue_id: None,
    ) -> None:
        self.spool = spool
        self.policy = policy
        self.on_queued = on_queued

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if not self.policy.trusted(session.peer):
            log.info("refused client=%s reason=not-trusted stage=mail", session.peer)
            return AUTH_REQUIRED
        # SIZE= above the limit was already refused by aiosmtpd (552), from data_size_limit.
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if not self.policy.trusted(session.peer):
            return AUTH_REQUIRED
        if len(envelope.rcpt_tos) >= self.policy.max_recipients:
            return TOO_MANY_RECIPIENTS
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if not self.policy.trusted(session.peer) or not envelope.rcpt_tos:
            return AUTH_REQUIRED
        data = envelope.original_content or envelope.content
        assert isinstance(data, bytes), "the server runs with decode_data=False"
        spooled = SpoolEnvelope(
            mail_from=envelope.mail_from or "",
            rcpts=tuple(envelope.rcpt_tos),
            received_at=datetime.now(UTC),
            client_address=str(session.peer[0]) if isinstance(session.peer, tuple) else "",
            client_name=session.host_name or "",
            smtputf8=envelope.smtp_utf8,
        )
        try:
            # fsync blocks: run it off the event loop so other sessions and deliveries go on.
            queue_id = await self.spool.run(self.spool.put, spooled, data)
        except SpoolWriteError as exc:
            log.error("refused client=%s reason=spool-write-failed error=%s", session.peer, exc)
            return NO_SPACE
        log.info(
            "queued queue_id=%s from=<%s> rcpts=%d size=%d client=%s",
            queue_id,
            spooled.mail_from,
            len(spooled.rcpts),
            len(data),
            spooled.client_address,
        )
        self.on_queued(queue_id)
        return f"250 2.0.0 Ok: queued as {queue_id}"


def smtp_factory(handler: RelayHandler, *, hostname: str) -> Callable[[], SMTP]:
    """What `loop.create_server` calls for each connection: one SMTP protocol
    per client, all in the loop that also runs delivery."""

    def factory() -> SMTP:
        return SMTP(
            handler,
            hostname=hostname,
            ident="sigrelay",
            data_size_limit=handler.policy.max_message_size,
            enable_SMTPUTF8=True,
            decode_data=False,
        )

    return factory
