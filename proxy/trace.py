"""What the relay adds to and removes from every message it passes on.

A `Received:` trace header (RFC 5321 4.4) names the client, this relay and
the queue id, so an admin can follow a message through the logs. Its "with"
keyword says how the message came in (RFC 3848 and RFC 6531: ESMTP, ESMTPS
over TLS, ESMTPA authenticated, UTF8SMTP...). It never carries "for <rcpt>":
with several recipients that would show Bcc recipients to everyone.

A `Bcc:` header that a client left in the message is removed: the envelope
already says who gets a copy, and the header would show them to the others.
Every other header, Message-ID included, is kept byte for byte.
"""

from __future__ import annotations

import re
from email.utils import format_datetime

from proxy.spool import Envelope

_UNSAFE = re.compile(rb"[^\x21-\x27\x2a-\x7e]")  # no spaces, parentheses or 8-bit in names
_BCC = re.compile(rb"bcc[ \t]*:", re.IGNORECASE)


def _clean(name: str) -> str:
    return _UNSAFE.sub(b"_", name.encode("utf-8", "replace")).decode("ascii")


def protocol(envelope: Envelope) -> str:
    base = "UTF8SMTP" if envelope.smtputf8 else "ESMTP"
    return base + ("S" if envelope.tls else "") + ("A" if envelope.authenticated else "")


def received_header(envelope: Envelope, queue_id: str, hostname: str) -> bytes:
    """One folded Received: field, CRLF-terminated."""
    date = format_datetime(envelope.received_at)
    by = f"by {_clean(hostname)} (sigrelay) with {protocol(envelope)} id {queue_id}"
    if not envelope.client_address:  # made here (a DSN): no client to name
        return f"Received: {by};\r\n\t{date}\r\n".encode()
    address = envelope.client_address
    literal = f"IPv6:{address}" if ":" in address else address
    helo = _clean(envelope.client_name) if envelope.client_name else "unknown"
    rdns = _clean(envelope.client_rdns) if envelope.client_rdns else "unknown"
    return f"Received: from {helo} ({rdns} [{literal}])\r\n\t{by};\r\n\t{date}\r\n".encode()


def split_header(data: bytes) -> tuple[bytes, bytes]:
    """(header block including its last line ending, the rest from the blank line on)."""
    for separator in (b"\r\n\r\n", b"\n\n"):
        end = data.find(separator)
        if end != -1:
            cut = end + len(separator) // 2
            return data[:cut], data[cut:]
    return data, b""


def strip_bcc(data: bytes) -> bytes:
    """The message without any Bcc: field (and its continuation lines)."""
    header, body = split_header(data)
    if not re.search(rb"(?im)^bcc[ \t]*:", header):
        return data
    kept: list[bytes] = []
    dropping = False
    for line in header.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t"):
            if not dropping:
                kept.append(line)
            continue
        dropping = _BCC.match(line) is not None
        if not dropping:
            kept.append(line)
    return b"".join(kept) + body


def add_trace(data: bytes, envelope: Envelope, queue_id: str, hostname: str) -> bytes:
    return received_header(envelope, queue_id, hostname) + strip_bcc(data)
