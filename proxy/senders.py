"""Who may send as whom: the envelope sender and every originator header.

- An authenticated client may use its own address, the addresses of the
  same employee in the directory (main address and aliases) and the shared
  mailboxes it is granted (config/mailboxes.py), in MAIL FROM and
  in From:, Sender:, Resent-From: and Resent-Sender: alike (a mail program
  shows any of them as "sent by").
- An unauthenticated client from a trusted network (an MTA in front of us)
  may use any address of the company's own domains, nothing else: a trusted
  host must not become a way to forge foreign senders.
- Anyone else may not send at all (the SMTP handler refuses before this).

The null sender `<>` is for bounces and other notifications (RFC 5321 4.5.5).
A trusted MTA may use it; its bounce's From: is the MTA's own MAILER-DAEMON
address (often a host name outside the company's mail domains), so it is not
checked. An authenticated user sends mail, not bounces: `<>` is refused.

The headers are read strictly and with bounds (proxy/address_headers.py);
a malformed one is refused with 554 5.6.0 and a reason the user can act on.
"""

from __future__ import annotations

from dataclasses import dataclass

from config import Config
from proxy.address_headers import MalformedHeader, originator_fields
from proxy.auth import Identity


@dataclass(frozen=True)
class Refusal:
    reason: str  # for the status line and the log
    code: str = "550 5.7.1"  # not allowed; "554 5.6.0" for a malformed message

    @property
    def status(self) -> str:
        return f"{self.code} {self.reason}"

    @property
    def malformed(self) -> bool:
        return self.code.startswith("554")


NULL_SENDER_REFUSED = Refusal(
    "the null sender <> is for bounces (RFC 5321 4.5.5); send from your own address"
)


def _malformed(exc: MalformedHeader) -> Refusal:
    return Refusal(f"{exc}; correct the sender in your mail program", "554 5.6.0")


class SenderAuthorization:
    """The sender checks of one Config snapshot (its directory and domains): made
    again for each new snapshot (`RelayPolicy.of`), so an alias added to the
    directory is allowed from the next SMTP session on, without a restart."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg

    def allowed_for(self, identity: Identity) -> frozenset[str]:
        """The user's own addresses (directory aliases too) and the shared
        mailboxes the directory or `[[shared_mailboxes]]` grant them."""
        employee = self.cfg.employees.find(identity.address)
        own = {identity.address.lower()}
        if employee is not None:
            own |= {a.lower() for a in (employee.email, *employee.aliases)}
        return frozenset(own) | self.cfg.mailboxes.granted_to(frozenset(own), employee)

    def check_envelope(self, identity: Identity | None, sender: str) -> Refusal | None:
        if not sender:
            return NULL_SENDER_REFUSED if identity is not None else None
        return self._check(identity, sender, "envelope sender")

    def check_from(
        self, identity: Identity | None, data: bytes, mail_from: str = "x", *, utf8: bool = False
    ) -> Refusal | None:
        """From:, Sender: and Resent-From:/Resent-Sender: of the message.
        `utf8`: the client said SMTPUTF8 (non-ASCII local parts allowed, RFC 6532)."""
        if identity is None and not mail_from:
            return None  # a trusted MTA's bounce: see the module docstring
        try:
            fields = originator_fields(data, utf8=utf8)
        except MalformedHeader as exc:
            return _malformed(exc)
        for field in fields:
            for address in field.addresses:
                refusal = self._check(identity, address, f"{field.name}: address")
                if refusal is not None:
                    return refusal
        return None

    def _check(self, identity: Identity | None, address: str, what: str) -> Refusal | None:
        if identity is not None:
            if address.lower() in self.allowed_for(identity):
                return None
            return Refusal(
                f"{what} <{address}> is not an address of the authenticated user {identity.login}"
            )
        local, at, _ = address.rpartition("@")
        if at and local and self.cfg.is_internal(address):
            return None
        return Refusal(f"{what} <{address}> is not in the company's domains")
