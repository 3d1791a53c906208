"""Non-ASCII addresses end to end (RFC 6531, issue 14 finding 1): accepted
only with SMTPUTF8, passed on with it, recorded, and bounced with a UTF-8
DSN (RFC 6533) when the upstream does not offer SMTPUTF8."""

from __future__ import annotations

import asyncio
import email
import email.policy
import smtplib

from relayclient import DeliveryWatch, message

from smtpsink import SmtpSink
from tracker.store import Store

ANNA = "anna.schmidt@example.com"
JUERGEN = "jürgen@customer.test"
KIM = "kim@customer.test"


def _send_utf8(port: int, rcpts: list[str]) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo()
        assert client.has_extn("smtputf8")
        client.sendmail(ANNA, rcpts, message(ANNA, KIM), mail_options=["SMTPUTF8"])


async def test_non_ascii_recipient_is_delivered_with_smtputf8_and_recorded(
    start_relay, sink: SmtpSink, store: Store
):
    relay = await start_relay()
    watch = DeliveryWatch(relay.worker)
    await asyncio.to_thread(_send_utf8, relay.address[1], [JUERGEN, KIM])
    await watch.until(lambda: len(watch.done) == 1)

    received = {m.rcpt_tos: m for m in sink.handler.received}
    assert set(received) == {(JUERGEN,), (KIM,)}
    assert "SMTPUTF8" in received[(JUERGEN,)].mail_options
    assert "SMTPUTF8" not in received[(KIM,)].mail_options  # only where it is needed
    assert await relay.recorder.stored(watch.done[0][0], timeout=10)
    rows = (await store.stats(by="recipient"))["rows"]
    assert {row["recipient"] for row in rows} >= {JUERGEN, KIM}


async def test_upstream_without_smtputf8_bounces_the_non_ascii_recipient_only(start_relay):
    legacy = SmtpSink(smtputf8=False)
    await legacy.start()
    try:
        relay = await start_relay(SIGRELAY_UPSTREAM__URL=legacy.url)
        watch = DeliveryWatch(relay.worker)
        await asyncio.to_thread(_send_utf8, relay.address[1], [JUERGEN, KIM])
        await watch.until(lambda: len(watch.done) == 2)  # the message, then its DSN

        by_rcpt = {m.rcpt_tos: m for m in legacy.handler.received}
        assert set(by_rcpt) == {(KIM,), (ANNA,)}  # kim's copy and the DSN to Anna
        dsn = email.message_from_bytes(by_rcpt[(ANNA,)].data, policy=email.policy.default)
        assert by_rcpt[(ANNA,)].mail_from == "<>"
        report = next(p for p in dsn.walk() if p.get_content_type().startswith("message/global"))
        assert report.get_content_type() == "message/global-delivery-status"
        text = by_rcpt[(ANNA,)].data.decode()
        assert f"Final-Recipient: utf-8; {JUERGEN}" in text
        assert "Status: 5.6.7" in text and "does not offer SMTPUTF8" in text
    finally:
        await legacy.stop()
