"""The relay as a whole, on the example configuration: smtplib -> relay (real
socket) -> spool -> delivery -> an aiosmtpd sink upstream on another port."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from relayclient import DeliveryWatch, message, smtp_send

if TYPE_CHECKING:
    from proxy.relay import Relay
from proxy.delivery import INLINE_RENDER_MAX
from smtpsink import SinkHandler, SmtpSink

SALES = "anna.schmidt@example.com"  # group "sales": privacy personal
STAFF = "ben.mueller@example.com"  # group "staff": privacy anonymous
EXTERNAL = ["kim@customer.test", "lee@partner.test"]
INTERNAL = "carla.rossi@example.com"


def _port(relay: Relay) -> int:
    return relay.address[1]


def _recipients(sink: SmtpSink) -> list[tuple[str, ...]]:
    return sorted(r.rcpt_tos for r in sink.handler.received)


async def test_personal_sender_gets_one_copy_per_external_recipient_and_one_internal(
    start_relay, sink: SmtpSink
):
    relay = await start_relay()
    watch = DeliveryWatch(relay.worker)

    await smtp_send(_port(relay), SALES, [*EXTERNAL, INTERNAL])
    await watch.until(lambda: len(watch.done) == 1)

    assert _recipients(sink) == [(INTERNAL,), ("kim@customer.test",), ("lee@partner.test",)]
    assert relay.spool.list() == []


async def test_anonymous_sender_gets_one_copy_for_all_external_recipients(
    start_relay, sink: SmtpSink
):
    relay = await start_relay()
    watch = DeliveryWatch(relay.worker)

    await smtp_send(_port(relay), STAFF, [*EXTERNAL, INTERNAL])
    await watch.until(lambda: len(watch.done) == 1)

    assert _recipients(sink) == [(INTERNAL,), tuple(EXTERNAL)]


async def test_delivered_copy_carries_the_signature_marker(start_relay, sink: SmtpSink):
    relay = await start_relay()
    await smtp_send(_port(relay), SALES, ["kim@customer.test"])
    (copy,) = await sink.handler.wait_for(1)
    assert b"X-Sigrelay-Processed:" in copy.data


async def test_sent_facts_of_tracked_copies_reach_the_store(start_relay, store, sink: SmtpSink):
    relay = await start_relay()
    watch = DeliveryWatch(relay.worker)

    await smtp_send(_port(relay), SALES, [*EXTERNAL, INTERNAL])
    await watch.until(lambda: len(watch.done) == 1)
    await relay.stop()  # flushes the recorder

    stats = await store.stats(by="recipient")
    assert stats["totals"]["sent"] == 2, "the internal copy is untracked and not counted"
    assert sorted(row["recipient"] for row in stats["rows"]) == sorted(EXTERNAL)


async def test_maildir_upstream_gets_one_file_per_copy(start_relay, tmp_path: Path):
    relay = await start_relay(SIGRELAY_UPSTREAM__URL="maildir:outbox")
    watch = DeliveryWatch(relay.worker)

    await smtp_send(_port(relay), SALES, EXTERNAL)
    await watch.until(lambda: len(watch.done) == 1)

    files = list((tmp_path / "data" / "outbox" / "new").iterdir())
    assert sorted(f.read_bytes().split(b"\r\n")[1] for f in files) == [
        b"Delivered-To: kim@customer.test",
        b"Delivered-To: lee@partner.test",
    ]


async def test_client_outside_trusted_networks_is_refused_and_nothing_is_sent(
    start_relay, sink: SmtpSink
):
    relay = await start_relay(SIGRELAY_RELAY__TRUSTED_NETWORKS="192.0.2.0/24")

    with pytest.raises(Exception) as refused:
        await smtp_send(_port(relay), "stranger@elsewhere.test", ["victim@customer.test"])

    assert getattr(refused.value, "smtp_code", None) == 530
    assert relay.spool.list() == []
    assert sink.handler.received == []


class FailsFirstAttempts(SinkHandler):
    """An upstream that answers 451 to the first `failures` RCPTs, then accepts."""

    failures = 1

    async def handle_RCPT(self, server, session, envelope, address, options):
        if self.failures > 0:
            self.failures -= 1
            return "451 4.3.0 temporarily unavailable"
        return await super().handle_RCPT(server, session, envelope, address, options)


async def test_a_4xx_then_2xx_is_delivered_exactly_once(start_relay, sink: SmtpSink):
    sink.handler = upstream = FailsFirstAttempts()
    relay = await start_relay()
    watch = DeliveryWatch(relay.worker)

    await smtp_send(_port(relay), SALES, ["kim@customer.test"])
    await watch.until(lambda: len(watch.done) == 1)

    assert [r.rcpt_tos for r in upstream.received] == [("kim@customer.test",)]
    assert [copy.attempts for _, copy in watch.attempts] == [1, 2]


async def test_upstream_down_then_up_is_delivered_exactly_once(start_relay, sink: SmtpSink):
    await sink.stop()
    relay = await start_relay()
    watch = DeliveryWatch(relay.worker)

    await smtp_send(_port(relay), SALES, ["kim@customer.test"])
    await watch.until(lambda: len(watch.attempts) >= 2)  # failed, and failed again
    assert relay.spool.list() != [] and sink.handler.received == []
    await sink.start()
    await watch.until(lambda: len(watch.done) == 1)

    assert [r.rcpt_tos for r in sink.handler.received] == [("kim@customer.test",)]
    assert relay.spool.list() == []


async def test_permanent_failure_of_one_recipient_does_not_hold_back_the_others(
    start_relay, sink: SmtpSink
):
    sink.handler.fail_with = {"gone@customer.test": "550 5.1.1 no such user"}
    relay = await start_relay()
    watch = DeliveryWatch(relay.worker)

    await smtp_send(_port(relay), SALES, ["kim@customer.test", "gone@customer.test"])
    await watch.until(lambda: len(watch.done) == 2)  # the message and the sender's DSN

    assert _recipients(sink) == [(SALES,), ("kim@customer.test",)]
    (state,) = [state for _, state in watch.done if state.sender == SALES]
    assert [c.failed for c in state.copies if c.failed] == [
        (("gone@customer.test", "550 5.1.1 no such user"),)
    ]
    assert relay.spool.list() == []


async def test_restart_delivers_a_spooled_message_exactly_once(start_relay, sink: SmtpSink):
    await sink.stop()
    first = await start_relay()
    watch = DeliveryWatch(first.worker)
    await smtp_send(_port(first), SALES, ["kim@customer.test", "lee@partner.test"])
    await watch.until(lambda: len(watch.attempts) >= 2)
    queued = first.spool.list()
    planned = first.spool.load_state(queued[0])
    await first.stop()

    await sink.start()
    second = await start_relay()
    watch = DeliveryWatch(second.worker)
    await watch.until(lambda: len(watch.done) == 1)

    assert _recipients(sink) == [("kim@customer.test",), ("lee@partner.test",)]
    ((_, state),) = watch.done
    assert planned is not None
    assert [c.copy_id for c in state.copies] == [c.copy_id for c in planned.copies]
    assert second.spool.list() == []


async def test_non_ascii_signature_goes_out_as_8bit_once_the_upstream_offered_8bitmime(
    start_relay, sink: SmtpSink
):
    # The sink (aiosmtpd) says 8BITMIME. Before the first connection the relay
    # cannot know it: the first copy's plain-text part becomes quoted-printable
    # for the "·" of the signature; later copies keep the part's text as it was.
    relay = await start_relay()

    await smtp_send(_port(relay), SALES, ["kim@customer.test"])
    (first,) = await sink.handler.wait_for(1)
    await smtp_send(_port(relay), SALES, ["kim@customer.test"])
    _, second = await sink.handler.wait_for(2)

    assert b"Content-Transfer-Encoding: quoted-printable" in first.data
    assert "Example GmbH ·".encode() not in first.data
    assert b"Content-Transfer-Encoding: 8bit" in second.data
    assert b"please find our offer.\r\n" in second.data
    assert "Example GmbH ·".encode() in second.data  # the link after it is tracked


async def test_a_large_message_is_rewritten_like_a_small_one(start_relay, sink: SmtpSink):
    # Above INLINE_RENDER_MAX the rewriting runs in the rewriting threads.
    relay = await start_relay()
    body = b"".join(b"line %d of a long offer\r\n" % n for n in range(6000))
    data = message(SALES, "kim@customer.test").replace(b"please find our offer.\r\n", body)
    assert len(data) > INLINE_RENDER_MAX

    await smtp_send(_port(relay), SALES, ["kim@customer.test"], data)
    (copy,) = await sink.handler.wait_for(1)

    assert b"X-Sigrelay-Processed:" in copy.data
    assert b"line 5999 of a long offer\r\n" in copy.data
