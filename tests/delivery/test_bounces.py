"""Bounces through a whole relay: permanent failures and the maximum age
give the sender one DSN, spooled and delivered like any message."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy

from relayclient import DeliveryWatch, smtp_send

from proxy.backoff import RetryPolicy
from proxy.spool import Envelope
from proxy.state import CopyStatus
from smtpsink import Received, SmtpSink

SALES = "anna.schmidt@example.com"  # personal mode: one copy per external recipient
THREE = ["kim@customer.test", "gone@customer.test", "lee@partner.test"]


def is_bounce(received: Received) -> bool:
    return received.mail_from in ("", "<>")  # aiosmtpd keeps "<>" as the client wrote it


def dsns(sink: SmtpSink) -> list[Received]:
    return [r for r in sink.handler.received if is_bounce(r)]


def failed_recipients(dsn: Received) -> list[str]:
    message = message_from_bytes(dsn.data, policy=policy.default)
    status = next(p for p in message.walk() if p.get_content_type() == "message/delivery-status")
    return [str(group["Final-Recipient"]) for group in status.get_payload()[1:]]


async def test_one_permanent_failure_of_three_delivers_two_and_bounces_one(
    start_relay, sink: SmtpSink
):
    sink.handler.fail_with = {"gone@customer.test": "550 5.1.1 no such user"}
    relay = await start_relay()

    await smtp_send(relay.address[1], SALES, THREE)
    await sink.handler.wait_for(3)  # two copies and the DSN

    delivered = sorted(r.rcpt_tos for r in sink.handler.received if not is_bounce(r))
    assert delivered == [("kim@customer.test",), ("lee@partner.test",)]
    (dsn,) = dsns(sink)
    assert dsn.rcpt_tos == (SALES,)
    assert failed_recipients(dsn) == ["rfc822; gone@customer.test"]


async def test_the_dsn_passes_unrewritten_and_leaves_the_spool(start_relay, sink: SmtpSink):
    sink.handler.fail_with = {"gone@customer.test": "550 5.1.1 no such user"}
    relay = await start_relay()
    watch = DeliveryWatch(relay.worker)

    await smtp_send(relay.address[1], SALES, ["gone@customer.test"])
    await watch.until(lambda: len(watch.done) == 2)  # the message, then its DSN

    (dsn,) = dsns(sink)
    assert b"X-Sigrelay-Processed" not in dsn.data
    assert relay.spool.list() == []


async def test_a_temporary_failure_past_the_maximum_age_bounces(start_relay, sink: SmtpSink):
    sink.handler.fail_with = {"slow@customer.test": "451 4.2.1 mailbox busy"}
    relay = await start_relay(RetryPolicy(initial=0.02, maximum=0.05, jitter=0, max_age=0.3))
    watch = DeliveryWatch(relay.worker)

    await smtp_send(relay.address[1], SALES, ["slow@customer.test"])
    await watch.until(lambda: len(watch.done) == 2)

    assert watch.attempts[0][1].status is CopyStatus.PENDING, "deferred while young"
    (dsn,) = dsns(sink)
    assert failed_recipients(dsn) == ["rfc822; slow@customer.test"]
    assert b"Diagnostic-Code: smtp; 451 4.2.1 mailbox busy" in dsn.data


async def test_a_failed_bounce_is_never_bounced(start_relay, sink: SmtpSink):
    sink.handler.fail_with = {"gone@customer.test": "550 5.1.1 no such user"}
    relay = await start_relay()
    watch = DeliveryWatch(relay.worker)

    bounce = Envelope(mail_from="", rcpts=("gone@customer.test",), received_at=datetime.now(UTC))
    relay.worker.wake(relay.spool.put(bounce, b"Subject: a bounce\r\n\r\nundeliverable\r\n"))
    await watch.until(lambda: len(watch.done) == 1)

    ((_, state),) = watch.done
    assert [rcpt for rcpt, _ in state.failures] == ["gone@customer.test"]
    assert sink.handler.received == []
    assert relay.spool.list() == []
