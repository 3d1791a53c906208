"""Real Postfix on both sides of the relay (a private instance per test,
loopback only, no DNS): as the upstream that stores what the relay delivers,
and as the client-side MTA that uses the relay as its relayhost."""

from __future__ import annotations

import asyncio
import smtplib

from relayclient import smtp_send

from peers import free_port
from postfixpeer import content_filter_settings
from smtpsink import SmtpSink

SALES = "anna.schmidt@example.com"


def offer(to: str) -> bytes:
    return (
        f"From: {SALES}\r\nTo: {to}\r\nSubject: Our offer\r\n"
        "Message-ID: <offer-pf@example.com>\r\n\r\nHello,\r\n\r\nplease find our offer.\r\n"
    ).encode()


async def test_postfix_upstream_stores_the_signed_copy_with_our_trace(start_relay, postfix):
    upstream = postfix()
    relay = await start_relay(SIGRELAY_UPSTREAM__URL=f"smtp://127.0.0.1:{upstream.port}")

    await smtp_send(relay.address[1], SALES, ["kim@customer.test"], offer("kim@customer.test"))
    (stored,) = await upstream.wait_delivered(1)

    assert b"X-Sigrelay-Processed:" in stored
    assert b"by relay.example.com (sigrelay) with ESMTP id " in stored
    assert b"Message-ID: <offer-pf@example.com>" in stored


async def test_postfix_with_the_relay_as_relayhost_passes_mail_through_it(
    start_relay, postfix, sink: SmtpSink
):
    relay = await start_relay()
    client_mta = postfix(relayhost=f"127.0.0.1:{relay.address[1]}")

    def submit() -> None:
        with smtplib.SMTP("127.0.0.1", client_mta.port, timeout=10) as smtp:
            smtp.sendmail(SALES, ["kim@customer.test"], offer("kim@customer.test"))

    await asyncio.to_thread(submit)
    (copy,) = await sink.handler.wait_for(1, timeout=30)

    assert copy.rcpt_tos == ("kim@customer.test",)
    assert b"X-Sigrelay-Processed:" in copy.data
    postfix_name = f"postfix-{client_mta.port}.test".encode()
    ours = b"Received: from " + postfix_name + b" (unknown [127.0.0.1])\r\n\tby relay.example.com"
    assert copy.data.startswith(ours), "our trace on top, naming Postfix as the client"
    assert b"by " + postfix_name in copy.data, "Postfix's own trace kept below"


async def test_postfix_upstream_takes_a_long_line_of_an_untouched_part_unbroken(
    start_relay, postfix
):
    """Issue 13: lines over 998 octets are accepted and passed on as they came in
    the parts we do not change; a real Postfix takes them as upstream."""
    upstream = postfix()
    relay = await start_relay(SIGRELAY_UPSTREAM__URL=f"smtp://127.0.0.1:{upstream.port}")
    long_line = b"x" * 5000
    message = (
        (
            f"From: {SALES}\r\nTo: kim@customer.test\r\nSubject: Long line\r\n"
            'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n'
            "--b1\r\nContent-Type: text/plain\r\n\r\nHello Kim\r\n"
            "--b1\r\nContent-Type: text/csv\r\n"
            "Content-Disposition: attachment; filename=a.csv\r\n\r\n"
        ).encode()
        + long_line
        + b"\r\n--b1--\r\n"
    )

    await smtp_send(relay.address[1], SALES, ["kim@customer.test"], message)
    (stored,) = await upstream.wait_delivered(1)

    assert b"X-Sigrelay-Processed:" in stored  # signed
    assert b"\n" + long_line + b"\n" in stored.replace(b"\r\n", b"\n")  # one line, unbroken


async def test_postfix_content_filter_passes_mail_through_the_relay_and_back(
    start_relay, postfix, sink: SmtpSink, relay_env: dict[str, str]
):
    """The README's content_filter setup: Postfix queues, hands each message to
    the relay, the relay gives it back on the reinjection port, Postfix delivers."""
    relay_port = int(relay_env["SIGRELAY_RELAY__LISTEN"].rsplit(":", 1)[1])
    reinject_port = free_port()
    main_cf, master_cf = content_filter_settings(relay_port, reinject_port)
    mta = postfix(relayhost=f"127.0.0.1:{sink.port}", extra=main_cf, services=master_cf)
    await start_relay(SIGRELAY_UPSTREAM__URL=f"smtp://127.0.0.1:{reinject_port}")

    def submit() -> None:
        with smtplib.SMTP("127.0.0.1", mta.port, timeout=10) as smtp:
            smtp.sendmail(SALES, ["kim@customer.test"], offer("kim@customer.test"))

    await asyncio.to_thread(submit)
    (copy,) = await sink.handler.wait_for(1, timeout=30)

    assert copy.rcpt_tos == ("kim@customer.test",)
    assert copy.data.count(b"X-Sigrelay-Processed:") == 1, "filtered once, not again"
    assert copy.data.count(b"(sigrelay)") == 1
    assert b"Message-ID: <offer-pf@example.com>" in copy.data
