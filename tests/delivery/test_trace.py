"""What the relay adds (Received:) and removes (Bcc:) in every copy."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from relayclient import smtp_send

from proxy.spool import Envelope
from proxy.trace import received_header, strip_bcc
from smtpsink import SmtpSink

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def envelope(**changes) -> Envelope:
    fields = dict(
        mail_from="anna.schmidt@example.com",
        rcpts=("kim@customer.test", "hidden@partner.test"),
        received_at=AT,
        client_address="192.0.2.7",
        client_name="laptop-anna",
    )
    return Envelope(**(fields | changes))


def test_received_names_client_relay_protocol_and_queue_id():
    header = received_header(envelope(), "1K0000000000000000A", "relay.example.com")
    assert header == (
        b"Received: from laptop-anna (unknown [192.0.2.7])\r\n"
        b"\tby relay.example.com (sigrelay) with ESMTP id 1K0000000000000000A;\r\n"
        b"\tMon, 02 Mar 2026 09:00:00 +0000\r\n"
    )


def test_received_says_esmtpsa_for_an_authenticated_client_over_tls():
    header = received_header(envelope(tls=True, authenticated=True), "Q", "relay.example.com")
    assert b" with ESMTPSA id Q;" in header


def test_received_never_names_a_recipient():
    header = received_header(envelope(client_rdns="laptop.example.com"), "Q", "relay.example.com")
    assert b"for" not in header and b"hidden@partner.test" not in header
    assert b"(laptop.example.com [192.0.2.7])" in header


def test_received_cannot_be_broken_by_a_hostile_helo():
    header = received_header(envelope(client_name="x)\r\nBcc: y"), "Q", "relay.example.com")
    lines = header.split(b"\r\n")
    assert len(lines) == 4 and not any(line.startswith(b"Bcc") for line in lines)


def test_strip_bcc_removes_the_field_and_its_continuation_only():
    message = (
        b"From: a@example.com\r\nBcc: hidden@partner.test,\r\n second@partner.test\r\n"
        b"To: kim@customer.test\r\n\r\nBcc: in the body stays\r\n"
    )
    assert strip_bcc(message) == (
        b"From: a@example.com\r\nTo: kim@customer.test\r\n\r\nBcc: in the body stays\r\n"
    )


def test_strip_bcc_leaves_a_message_without_bcc_byte_for_byte():
    message = b"From: a@example.com\nTo: kim@customer.test\n\nHello\n"
    assert strip_bcc(message) is message


async def test_every_copy_carries_received_keeps_message_id_and_drops_bcc(
    start_relay, sink: SmtpSink
):
    relay = await start_relay()
    data = (
        b"From: anna.schmidt@example.com\r\nTo: kim@customer.test\r\n"
        b"Bcc: hidden@partner.test\r\nSubject: Offer\r\n"
        b"Message-ID: <offer-7@example.com>\r\n\r\nHello\r\n"
    )

    await smtp_send(
        relay.address[1],
        "anna.schmidt@example.com",
        ["kim@customer.test", "hidden@partner.test"],
        data,
    )
    copies = await sink.handler.wait_for(2)

    for copy in copies:
        assert copy.data.startswith(b"Received: from ")
        assert b"by relay.example.com (sigrelay) with ESMTP id " in copy.data
        assert b"Message-ID: <offer-7@example.com>\r\n" in copy.data
        assert (
            b"Bcc" not in copy.data
            and b"hidden@partner.test" not in copy.data.split(b"\r\n\r\n")[0]
        )


async def test_a_message_that_comes_back_is_passed_on_once_logged_and_counted(
    start_relay, sink: SmtpSink, caplog
):
    """A provider's rule without the exception sends our copy back: it goes on
    unchanged (never signed twice, never lost), with a warning naming its queue
    id and `sigrelay_loops_total` counting it."""
    from proxy.metrics import REGISTRY

    relay = await start_relay()
    before = REGISTRY.get_sample_value("sigrelay_loops_total") or 0
    data = (
        b"From: anna.schmidt@example.com\r\nTo: kim@customer.test\r\nSubject: Offer\r\n"
        b"X-Sigrelay-Processed: 1\r\nMessage-ID: <loop-1@example.com>\r\n\r\nHello\r\n"
    )
    await smtp_send(relay.address[1], "anna.schmidt@example.com", ["kim@customer.test"], data)
    (copy,) = await sink.handler.wait_for(1)
    assert copy.data.endswith(data)  # unchanged after our Received:
    # Counted once the attempt's outcome is on disk (as the message leaves the spool).
    for _ in range(500):
        if REGISTRY.get_sample_value("sigrelay_loops_total") != before:
            break
        await asyncio.sleep(0.01)
    assert REGISTRY.get_sample_value("sigrelay_loops_total") == before + 1
    (warning,) = [r for r in caplog.records if r.getMessage().startswith("loop? queue_id=")]
    assert "X-Sigrelay-Processed" in warning.getMessage()
