"""Envelope addresses: bytes that are not UTF-8, non-ASCII without SMTPUTF8,
source routes (issue 14, findings 1 and 9)."""

from __future__ import annotations

import asyncio

from rawsmtp import RawClient

COLLEAGUE = "clara.weber@example.com"


def _session(port: int, *lines: bytes) -> list[int]:
    """EHLO, then each line; the reply code of each line."""
    client = RawClient(port)
    try:
        assert client.command(b"EHLO client.test").code == 250
        return [client.command(line).code for line in lines]
    finally:
        client.close()


async def _codes(relay, *lines: bytes) -> list[int]:
    return await asyncio.to_thread(_session, relay.address[1], *lines)


async def test_sender_that_is_not_utf8_is_refused(start_relay):
    relay = await start_relay()
    (code,) = await _codes(relay, b"MAIL FROM:<x\xff@example.com> SMTPUTF8")
    assert code == 553


async def test_recipient_that_is_not_utf8_is_refused_and_others_are_not(start_relay):
    relay = await start_relay()
    codes = await _codes(
        relay,
        f"MAIL FROM:<{COLLEAGUE}> SMTPUTF8".encode(),
        b"RCPT TO:<a\xff@customer.test>",
        b"RCPT TO:<kim@customer.test>",
    )
    assert codes == [250, 553, 250]


async def test_non_ascii_address_needs_smtputf8(start_relay):
    relay = await start_relay()
    codes = await _codes(
        relay,
        f"MAIL FROM:<{COLLEAGUE}>".encode(),
        "RCPT TO:<jürgen@customer.test>".encode(),
    )
    assert codes == [250, 553]


async def test_non_ascii_address_is_accepted_with_smtputf8(start_relay):
    relay = await start_relay()
    codes = await _codes(
        relay,
        f"MAIL FROM:<{COLLEAGUE}> SMTPUTF8".encode(),
        "RCPT TO:<jürgen@bücher.test>".encode(),
    )
    assert codes == [250, 250]


async def test_source_routes_are_refused(start_relay):
    """aiosmtpd drops the route and keeps the mailbox; the README says we refuse it."""
    relay = await start_relay()
    codes = await _codes(
        relay,
        f"MAIL FROM:<@relay.test:{COLLEAGUE}>".encode(),
        f"MAIL FROM:<{COLLEAGUE}>".encode(),
        b"RCPT TO:<@example.com,@b.test:victim@third.test>",
        b"RCPT TO:< @example.com:victim@third.test>",
        b"RCPT TO:<kim@customer.test>",
    )
    assert codes == [550, 250, 550, 550, 250]
