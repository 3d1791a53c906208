"""Sender authorization and the open-relay battery, the way open-relay testers probe."""

from __future__ import annotations

import pytest
from securerelay import ANNA, ANNA_PASSWORD
from swaks import swaks

from config.schema import ListenerMode
from smtpsink import SmtpSink

SUBMISSION, PLAIN = ListenerMode.SUBMISSION, ListenerMode.PLAIN
ANNA_ALIAS = "sales-anna@example.com"
COLLEAGUE = "clara.weber@example.com"
CUSTOMER = "kim@customer.test"
AS_ANNA = ["--tls", "--auth", "PLAIN", "--auth-user", ANNA, "--auth-password", ANNA_PASSWORD]

# What relay testers try, as (MAIL FROM, RCPT TO): foreign to foreign, and routing tricks
# that a next hop might honour ("%" hack, bang path, source route, quoted local part).
RELAY_PROBES = {
    "foreign-to-foreign": ("spammer@other.test", "victim@third.test"),
    "percent-hack": ("spammer@other.test", "victim%third.test@example.com"),
    "bang-path": ("spammer@other.test", "third.test!victim"),
    "bang-path-at-us": ("spammer@other.test", "third.test!victim@example.com"),
    "source-route": ("spammer@other.test", "@example.com:victim@third.test"),
    "quoted-local-part": ("spammer@other.test", '"victim@third.test"@example.com'),
    "forged-internal-sender": (ANNA, "victim@third.test"),
    "null-sender": ("<>", "victim@third.test"),
}


async def test_authenticated_user_may_send_as_own_address(secure_relay, sink: SmtpSink):
    relay = await secure_relay()
    run = await swaks(relay.ports[SUBMISSION], *AS_ANNA, "--from", ANNA, "--to", CUSTOMER)
    assert run.delivered, run.transcript
    assert len(await sink.handler.wait_for(1)) == 1


async def test_authenticated_user_may_send_as_own_alias(secure_relay, sink: SmtpSink):
    relay = await secure_relay()
    run = await swaks(
        relay.ports[SUBMISSION], *AS_ANNA, "--from", ANNA_ALIAS, "--to", CUSTOMER,
        "--header", f"From: Anna <{ANNA_ALIAS}>",
    )  # fmt: skip
    assert run.delivered, run.transcript


async def test_authenticated_user_may_not_use_a_colleagues_envelope_sender(secure_relay):
    relay = await secure_relay()
    run = await swaks(relay.ports[SUBMISSION], *AS_ANNA, "--from", COLLEAGUE, "--to", CUSTOMER)
    assert not run.delivered
    assert run.server_said("550 5.7.1"), run.transcript
    assert f"<{COLLEAGUE}> is not an address of the authenticated user" in run.transcript


async def test_authenticated_user_may_not_forge_the_from_header(secure_relay):
    relay = await secure_relay()
    run = await swaks(
        relay.ports[SUBMISSION], *AS_ANNA, "--from", ANNA, "--to", CUSTOMER,
        "--header", f"From: Clara <{COLLEAGUE}>",
    )  # fmt: skip
    assert not run.delivered
    assert run.server_said("550 5.7.1"), run.transcript
    assert "From: address" in run.transcript
    assert relay.relay.spool.list() == []


@pytest.mark.parametrize("probe", sorted(RELAY_PROBES))
async def test_unauthenticated_untrusted_client_cannot_relay(secure_relay, probe: str):
    relay = await secure_relay()
    sender, recipient = RELAY_PROBES[probe]
    for mode in (PLAIN, SUBMISSION):
        run = await swaks(relay.ports[mode], "--from", sender, "--to", recipient)
        assert not run.delivered, f"{mode}: {run.transcript}"
        assert run.server_said("530"), run.transcript
    assert relay.relay.spool.list() == []


# A company sender (and the null sender of a bounce) from a trusted host is legitimate.
@pytest.mark.parametrize(
    "probe", sorted(set(RELAY_PROBES) - {"forged-internal-sender", "null-sender"})
)
async def test_trusted_network_cannot_relay_with_foreign_sender_or_routing(start_relay, probe):
    """Loopback is trusted here (the example config); a trusted host still may
    not forge foreign senders nor smuggle routing through us."""
    relay = await start_relay()
    sender, recipient = RELAY_PROBES[probe]
    run = await swaks(relay.address[1], "--from", sender, "--to", recipient)
    assert not run.delivered, run.transcript
    assert run.server_said("550 5.7.1"), run.transcript
    assert relay.spool.list() == []


async def test_trusted_network_may_send_as_a_company_address(start_relay, sink: SmtpSink):
    relay = await start_relay()
    run = await swaks(relay.address[1], "--from", COLLEAGUE, "--to", CUSTOMER)
    assert run.delivered, run.transcript


async def test_trusted_network_may_not_relay_with_a_routing_recipient_even_as_company(start_relay):
    relay = await start_relay()
    run = await swaks(
        relay.address[1], "--from", COLLEAGUE, "--to", "victim%third.test@example.com"
    )
    assert run.server_said("550 5.7.1 Sender-specified routing"), run.transcript


async def test_trusted_mta_may_relay_a_bounce_from_its_own_mailer_daemon(
    start_relay, sink: SmtpSink
):
    """Postfix in front of us returns bounces with MAIL FROM:<> and From: its own
    MAILER-DAEMON, often at a host name outside the company's mail domains."""
    relay = await start_relay()
    run = await swaks(
        relay.address[1], "--from", "<>", "--to", CUSTOMER,
        "--header", "From: Mail Delivery System <MAILER-DAEMON@mx1.internal.test>",
    )  # fmt: skip
    assert run.delivered, run.transcript


async def test_authenticated_user_bounce_still_needs_an_own_from(secure_relay):
    relay = await secure_relay()
    run = await swaks(
        relay.ports[SUBMISSION], *AS_ANNA, "--from", "<>", "--to", CUSTOMER,
        "--header", "From: ceo@example.com",
    )  # fmt: skip
    assert not run.delivered and run.server_said("550 5.7.1"), run.transcript


async def test_received_header_says_the_client_used_tls_and_auth(secure_relay, sink: SmtpSink):
    relay = await secure_relay()
    run = await swaks(relay.ports[SUBMISSION], *AS_ANNA, "--from", ANNA, "--to", CUSTOMER)
    assert run.delivered, run.transcript
    (copy,) = await sink.handler.wait_for(1)
    received = copy.data.split(b"\r\n\r\n", 1)[0].split(b"Received:")[1]
    assert b"with ESMTPSA" in received, received  # RFC 3848: TLS + AUTH


async def test_refusals_are_counted_by_reason(start_relay):
    from proxy import metrics

    before = metrics.REJECTED.labels("routing")._value.get()
    relay = await start_relay()
    run = await swaks(relay.address[1], "--from", COLLEAGUE, "--to", "third.test!victim")
    assert not run.delivered
    assert metrics.REJECTED.labels("routing")._value.get() == before + 1
