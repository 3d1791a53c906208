"""The originator headers (From, Sender, Resent-*) are read strictly and with
bounds, so a sender check cannot be bypassed by a header that the relay reads
one way and the recipient's mail program another (issue 14, findings 2 and 3)."""

from __future__ import annotations

import asyncio
import logging

from rawsmtp import send_message
from securerelay import ANNA

from config.schema import ListenerMode
from smtpsink import SmtpSink

SUBMISSION = ListenerMode.SUBMISSION
COLLEAGUE = "clara.weber@example.com"
CUSTOMER = "kim@customer.test"


def _message(*headers: str) -> bytes:
    head = "".join(f"{h}\r\n" for h in headers)
    return f"{head}To: <{CUSTOMER}>\r\nSubject: hello\r\n\r\nHello.\r\n".encode()


async def _from_trusted(relay, *headers: str, mail_from: str = COLLEAGUE):
    return await asyncio.to_thread(
        send_message, relay.address[1], mail_from, [CUSTOMER], _message(*headers)
    )


async def _as_anna(secure, *headers: str):
    port = secure.ports[SUBMISSION]
    data = _message(*headers)
    return await asyncio.to_thread(send_message, port, ANNA, [CUSTOMER], data, as_anna=True)


async def test_a_second_from_with_space_before_the_colon_is_refused(start_relay):
    """`From : ...` is a From: field (RFC 5322 4.5.3 obs-optional) for the mail
    programs that show it; Python's parser skips it, so the check once did."""
    relay = await start_relay()
    reply = await _from_trusted(relay, f"From: <{COLLEAGUE}>", "From : CEO <ceo@bank.test>")
    assert reply.code == 554 and "5.6.0" in reply.text, reply
    assert "2 From: headers" in reply.text
    assert relay.spool.list() == []


async def test_only_a_from_with_space_before_the_colon_is_checked_as_from(start_relay):
    relay = await start_relay()
    reply = await _from_trusted(relay, "From : CEO <ceo@bank.test>")
    assert reply.code == 550 and "<ceo@bank.test> is not in the company's domains" in reply.text


async def test_authenticated_user_cannot_add_an_obs_from(secure_relay):
    secure = await secure_relay()
    reply = await _as_anna(secure, f"From: <{ANNA}>", "From\t: Boss <ceo@example.com>")
    assert reply.code == 554, reply


async def test_from_with_empty_local_part_is_not_internal(start_relay):
    """`ceo@bank.test (x) @example.com` once read as the address "@example.com"."""
    relay = await start_relay()
    reply = await _from_trusted(relay, "From: ceo@bank.test (x) @example.com")
    assert reply.code == 554 and "5.6.0 From: header is malformed" in reply.text, reply
    assert "correct the sender in your mail program" in reply.text


async def test_sender_header_of_someone_else_is_refused(secure_relay):
    secure = await secure_relay()
    reply = await _as_anna(secure, f"From: <{ANNA}>", f"Sender: <{COLLEAGUE}>")
    assert reply.code == 550 and f"Sender: address <{COLLEAGUE}>" in reply.text, reply


async def test_resent_from_and_resent_sender_are_checked(secure_relay):
    secure = await secure_relay()
    reply = await _as_anna(secure, f"From: <{ANNA}>", "Resent-From: <ceo@bank.test>")
    assert reply.code == 550 and "Resent-From: address <ceo@bank.test>" in reply.text, reply
    reply = await _as_anna(secure, f"From: <{ANNA}>", f"Resent-Sender: <{COLLEAGUE}>")
    assert reply.code == 550 and "Resent-Sender: address" in reply.text, reply


async def test_foreign_resent_from_from_a_trusted_host_is_refused(start_relay):
    relay = await start_relay()
    reply = await _from_trusted(relay, f"From: <{COLLEAGUE}>", "Resent-From: ceo@bank.test")
    assert reply.code == 550 and "Resent-From: address <ceo@bank.test>" in reply.text, reply


async def test_own_sender_and_resent_headers_pass(secure_relay, sink: SmtpSink):
    secure = await secure_relay()
    reply = await _as_anna(
        secure,
        "From: Anna Q. Schmidt <sales-anna@example.com>",  # obs-phrase: tolerated
        f"Sender: <{ANNA}>",
        f"Resent-From: =?utf-8?q?Anna_Schmidt?= <{ANNA}>",
    )
    assert reply.code == 250, reply
    assert len(await sink.handler.wait_for(1)) == 1


async def test_two_sender_headers_are_refused(start_relay):
    relay = await start_relay()
    reply = await _from_trusted(
        relay, f"From: <{COLLEAGUE}>", f"Sender: <{COLLEAGUE}>", f"Sender: <{COLLEAGUE}>"
    )
    assert reply.code == 554 and "several Sender: headers" in reply.text, reply


async def test_message_without_from_is_refused(start_relay):
    relay = await start_relay()
    reply = await _from_trusted(relay, f"Sender: <{COLLEAGUE}>")
    assert reply.code == 554 and "0 From: headers" in reply.text, reply


async def test_deeply_nested_from_gets_554_and_one_log_line(start_relay, caplog):
    """3,000 nested comments once raised RecursionError in the email package:
    `500 Error: (RecursionError)` and a 178 KB traceback in the log."""
    relay = await start_relay()
    nested = "(" * 3000 + "x" + ")" * 3000
    with caplog.at_level(logging.INFO):
        caplog.clear()
        reply = await _from_trusted(relay, f"From: {nested} <{COLLEAGUE}>")
    assert reply.code == 554 and "nests comments deeper than" in reply.text, reply
    records = [r for r in caplog.records if r.name.startswith("sigrelay")]
    assert not [r for r in records if r.exc_info or r.exc_text], "no traceback in the log"
    refusals = [r for r in records if "reason=malformed-header" in r.getMessage()]
    assert len(refusals) == 1
    line = refusals[0].getMessage()
    assert "\n" not in line and len(line) < 500, line
    assert relay.spool.list() == []


async def test_overlong_from_is_refused_before_parsing(start_relay):
    relay = await start_relay()
    reply = await _from_trusted(relay, f"From: {'x' * 9000} <{COLLEAGUE}>")
    assert reply.code == 554 and "longer than" in reply.text, reply


async def test_authenticated_user_may_not_send_from_the_null_sender(secure_relay):
    """`<>` is for bounces (RFC 5321 4.5.5): a user's mail with it could not bounce
    back to anyone, and it skips every check meant for a sender address."""
    secure = await secure_relay()
    port = secure.ports[SUBMISSION]
    data = _message(f"From: <{ANNA}>")
    reply = await asyncio.to_thread(send_message, port, "<>", [CUSTOMER], data, as_anna=True)
    assert reply.code == 550 and "null sender <> is for bounces" in reply.text, reply
    assert secure.relay.spool.list() == []
