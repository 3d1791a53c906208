"""Who may send as whom: the envelope sender and every From: address.

- An authenticated client may use its own address and the addresses of the
  same employee in the directory (main address and aliases).
- An unauthenticated client from a trusted network (an MTA in front of us)
  may use any address of the company's own domains, nothing else: a trusted
  host must not become a way to forge foreign senders.
- Anyone else may not send at all (the SMTP handler refuses before this).
The null sender `<>` (bounces, RFC 5321 4.5.5) carries no address to forge
and is allowed to both. Its From: is still checked for authenticated users;
from a trusted MTA a bounce's From: is the MTA's own MAILER-DAEMON address
(often a host name outside the company's mail domains), so it is not.
"""

from __future__ import annotations

import email.parser
import email.policy
import email.utils
from dataclasses import dataclass

from config import Config
from proxy.auth import Identity


@dataclass(frozen=True)
class Refusal:
    reason: str  # for the 550 5.7.1 line and the log

    @property
    def status(self) -> str:
        return f"550 5.7.1 {self.reason}"


def from_header_addresses(data: bytes) -> list[str] | None:
    """The addresses in From:, or None when there is no usable From: header."""
    header_end = data.find(b"\r\n\r\n")
    head = data if header_end < 0 else data[: header_end + 2]
    headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(head)
    values = [str(v) for v in headers.get_all("From", [])]
    addresses = [address for _, address in email.utils.getaddresses(values) if address]
    return addresses or None


class SenderAuthorization:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg

    def allowed_for(self, identity: Identity) -> frozenset[str]:
        employee = self.cfg.employees.find(identity.address)
        own = {identity.address.lower()}
        if employee is not None:
            own |= {a.lower() for a in (employee.email, *employee.aliases)}
        return frozenset(own)

    def check_envelope(self, identity: Identity | None, sender: str) -> Refusal | None:
        if not sender:
            return None
        return self._check(identity, sender, "envelope sender")

    def check_from(
        self, identity: Identity | None, data: bytes, mail_from: str = "x"
    ) -> Refusal | None:
        if identity is None and not mail_from:
            return None  # a trusted MTA's bounce: see the module docstring
        addresses = from_header_addresses(data)
        if addresses is None:
            return Refusal("the message has no From: address")
        for address in addresses:
            refusal = self._check(identity, address, "From: address")
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
        if self.cfg.is_internal(address) and "@" in address:
            return None
        return Refusal(f"{what} <{address}> is not in the company's domains")
