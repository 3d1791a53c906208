"""The DSN itself (RFC 3464): what a sender's mail program reads."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import Message

import pytest

from proxy.dsn import Failure, build_dsn, status_of

ORIGINAL = (
    b"From: anna.schmidt@example.com\r\nTo: kim@customer.test\r\n"
    b"Bcc: secret@customer.test\r\nSubject: Our offer\r\n"
    b"Message-ID: <offer-1@example.com>\r\n\r\nThe confidential body.\r\n"
)
ARRIVAL = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 2, 9, 5, tzinfo=UTC)


def dsn(*failures: Failure, sender: str = "anna.schmidt@example.com") -> Message:
    raw = build_dsn(
        sender=sender,
        failures=failures,
        original=ORIGINAL,
        hostname="relay.example.com",
        queue_id="1K0000000000000000A",
        arrival=ARRIVAL,
        now=NOW,
    )
    assert b"\n" not in raw.replace(b"\r\n", b""), "CRLF line endings only"
    return message_from_bytes(raw, policy=policy.default)


def report_parts(message: Message) -> list[str]:
    return [part.get_content_type() for part in message.iter_parts()]


def status_groups(message: Message) -> list[dict[str, str]]:
    """The per-message and per-recipient field groups of message/delivery-status."""
    status = next(
        p for p in message.iter_parts() if p.get_content_type() == "message/delivery-status"
    )
    return [{k: str(v) for k, v in group.items()} for group in status.get_payload()]


def test_is_a_multipart_report_of_delivery_status_to_the_sender():
    message = dsn(Failure("gone@customer.test", "550 5.1.1 no such user"))
    assert message.get_content_type() == "multipart/report"
    assert message.get_param("report-type") == "delivery-status"
    assert message["To"].addresses[0].addr_spec == "anna.schmidt@example.com"
    assert message["Auto-Submitted"] == "auto-replied"
    assert report_parts(message) == ["text/plain", "message/delivery-status", "text/rfc822-headers"]


def test_names_exactly_the_failed_recipients_with_the_upstream_reply():
    message = dsn(
        Failure("gone@customer.test", "550 5.1.1 no such user"),
        Failure("full@partner.test", "552 5.2.2 mailbox full"),
    )
    per_message, *per_recipient = status_groups(message)
    assert per_message["Reporting-MTA"] == "dns; relay.example.com"
    assert [(g["Final-Recipient"], g["Action"], g["Status"], g["Diagnostic-Code"])
            for g in per_recipient] == [
        ("rfc822; gone@customer.test", "failed", "5.1.1", "smtp; 550 5.1.1 no such user"),
        ("rfc822; full@partner.test", "failed", "5.2.2", "smtp; 552 5.2.2 mailbox full"),
    ]  # fmt: skip


def test_carries_the_original_header_without_body_or_bcc():
    message = dsn(Failure("gone@customer.test", "550 5.1.1 no such user"))
    headers = list(message.iter_parts())[2].get_payload(decode=True)
    assert b"Message-ID: <offer-1@example.com>" in headers
    assert b"Bcc" not in headers and b"secret@customer.test" not in headers
    assert b"confidential body" not in message.as_bytes()


def test_a_null_sender_never_gets_a_dsn():
    with pytest.raises(ValueError, match="null sender"):
        dsn(Failure("gone@customer.test", "550 5.1.1 no such user"), sender="")


@pytest.mark.parametrize(
    ("reply", "status"),
    [
        ("550 5.7.1 relaying denied", "5.7.1"),
        ("554 transaction failed", "5.0.0"),
        ("451 4.4.1 upstream 127.0.0.1:25: connection refused", "4.4.1"),
        ("421 service not available", "4.4.7"),
    ],
)
def test_status_is_the_enhanced_code_of_the_reply_else_derived_from_its_class(reply, status):
    assert status_of(reply) == status
