"""Delivery status notifications (RFC 3464): telling a sender what failed.

`build_dsn` makes one multipart/report (RFC 6522) naming exactly the failed
recipients, each with Final-Recipient, Action: failed, Status and the
upstream's reply as Diagnostic-Code, followed by the original message's
header (text/rfc822-headers, not the body: it may be large and the sender
has it). Pure: the caller spools the result with an empty envelope sender,
and a message with an empty envelope sender never gets a DSN (RFC 5321
4.5.5: no bounces of bounces).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from proxy.trace import split_header, strip_bcc

_ENHANCED = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
EXPIRED_STATUS = "4.4.7"  # RFC 3463: delivery time expired
SUBJECT = "Undelivered Mail Returned to Sender"


@dataclass(frozen=True)
class Failure:
    recipient: str
    reply: str  # the upstream's reply, e.g. "550 5.1.1 no such user"


def status_of(reply: str) -> str:
    """The enhanced status code (RFC 3463) of an SMTP reply text."""
    found = _ENHANCED.search(reply)
    if found:
        return found.group(1)
    code = reply[:3]
    if code.isdigit() and code[0] in "45":
        return EXPIRED_STATUS if code[0] == "4" else "5.0.0"
    return "5.0.0"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _human_part(sender: str, failures: Sequence[Failure], hostname: str) -> str:
    lines = [
        f"This is the mail system at host {hostname}.",
        "",
        "Your message could not be delivered to the following recipients.",
        "The reason the receiving server gave is shown beside each one.",
        "",
    ]
    lines += [f"<{f.recipient}>: {_one_line(f.reply)}" for f in failures]
    lines += ["", f"The message was sent by <{sender}>; its header follows."]
    return "\r\n".join(lines) + "\r\n"


def _status_part(
    failures: Sequence[Failure], *, hostname: str, queue_id: str, arrival: datetime, now: datetime
) -> str:
    blocks = [
        f"Reporting-MTA: dns; {hostname}\r\n"
        f"X-Sigrelay-Queue-ID: {queue_id}\r\n"
        f"Arrival-Date: {format_datetime(arrival)}\r\n"
    ]
    for failure in failures:
        # RFC 6533 3.1: a non-ASCII address is of type utf-8, not rfc822.
        kind = "rfc822" if failure.recipient.isascii() else "utf-8"
        blocks.append(
            f"Final-Recipient: {kind}; {failure.recipient}\r\n"
            "Action: failed\r\n"
            f"Status: {status_of(failure.reply)}\r\n"
            f"Diagnostic-Code: smtp; {_one_line(failure.reply)}\r\n"
            f"Last-Attempt-Date: {format_datetime(now)}\r\n"
        )
    return "\r\n".join(blocks)


def build_dsn(
    *,
    sender: str,
    failures: Sequence[Failure],
    original: bytes,
    hostname: str,
    queue_id: str,
    arrival: datetime,
    now: datetime,
) -> bytes:
    """The complete DSN message (CRLF line endings) for `sender`."""
    if not sender:
        raise ValueError("no DSN for a null sender: bounces are never bounced")
    if not failures:
        raise ValueError("a DSN needs at least one failed recipient")
    boundary = f"{queue_id}.dsn/{hostname}"
    header, _ = split_header(strip_bcc(original))
    # RFC 6533: with a non-ASCII address the report and the returned headers
    # are of the "global" types, and the text is UTF-8.
    utf8 = not (sender + "".join(f.recipient for f in failures)).isascii()
    charset, status_type, headers_type = (
        ("utf-8", "message/global-delivery-status", "message/global-headers")
        if utf8
        else ("us-ascii", "message/delivery-status", "text/rfc822-headers")
    )
    if not header.endswith(b"\n"):
        header += b"\r\n"
    head = (
        f"From: Mail Delivery System <MAILER-DAEMON@{hostname}>\r\n"
        f"To: <{sender}>\r\n"
        f"Subject: {SUBJECT}\r\n"
        f"Date: {format_datetime(now)}\r\n"
        f"Message-ID: <{queue_id}.dsn@{hostname}>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status;\r\n"
        f'\tboundary="{boundary}"\r\n'
        "\r\n"
        "This is a MIME-encapsulated message.\r\n"
        "\r\n"
        f"--{boundary}\r\n"
        f"Content-Type: text/plain; charset={charset}\r\n"
        "Content-Description: Notification\r\n"
        "\r\n"
        f"{_human_part(sender, failures, hostname)}"
        "\r\n"
        f"--{boundary}\r\n"
        f"Content-Type: {status_type}\r\n"
        "Content-Description: Delivery report\r\n"
        "\r\n"
        f"{_status_part(failures, hostname=hostname, queue_id=queue_id, arrival=arrival, now=now)}"
        "\r\n"
        f"--{boundary}\r\n"
        f"Content-Type: {headers_type}\r\n"
        "Content-Description: Undelivered Message Headers\r\n"
        "\r\n"
    )
    tail = f"\r\n--{boundary}--\r\n"
    return head.encode("utf-8") + header + tail.encode()
