"""Shared mailboxes over a real SMTP session with AUTH: a person may send as
the mailboxes the directory grants them, and as nothing else; the delivered
copy carries the mailbox's signature (the group's `shared_mailbox_signature`)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from rawsmtp import send_message
from securerelay import ANNA

from config.schema import ListenerMode
from smtpsink import SmtpSink

CUSTOMER = "kim@customer.test"
EMPLOYEES = """email,name,department,aliases,members,send_as
anna.schmidt@example.com,Anna Schmidt,Sales,sales-anna@example.com,,clara.weber@example.com
clara.weber@example.com,Clara Weber,Sales,,,
david.fischer@example.com,David Fischer,Operations,info@example.com,,
support@example.com,Support Team,Sales,help@example.com,anna.schmidt@example.com,
"""
SHARED = """
[[shared_mailboxes]]
address = "orders@example.com"
members = ["clara.weber@example.com"]
"""


@pytest.fixture
def mailbox_config(config_dir: Path) -> Path:
    (config_dir / "employees.csv").write_text(EMPLOYEES, encoding="utf-8")
    with (config_dir / "sigrelay.toml").open("a", encoding="utf-8") as toml:
        toml.write(SHARED)
    return config_dir


async def _as_anna(secure, mail_from: str, *headers: str):
    head = "".join(f"{h}\r\n" for h in headers)
    data = f"{head}To: <{CUSTOMER}>\r\nSubject: order\r\n\r\nYour order.\r\n".encode()
    port = secure.ports[ListenerMode.SUBMISSION]
    return await asyncio.to_thread(send_message, port, mail_from, [CUSTOMER], data, as_anna=True)


async def test_anna_sends_for_the_shared_mailbox_and_it_signs(
    mailbox_config, secure_relay, sink: SmtpSink
):
    secure = await secure_relay()
    reply = await _as_anna(secure, ANNA, "From: Support <support@example.com>", f"Sender: <{ANNA}>")
    assert reply.code == 250, reply
    (copy,) = await sink.handler.wait_for(1)
    text = copy.data.decode("utf-8", "replace")
    assert "Support Team" in text and "Anna Schmidt" not in text


@pytest.mark.parametrize(
    "mail_from,headers",
    [
        ("support@example.com", ["From: <support@example.com>"]),  # "send as", envelope too
        (ANNA, ["From: <help@example.com>"]),  # the mailbox's alias
        (ANNA, ["From: <sales-anna@example.com>"]),  # her own alias
    ],
)
async def test_granted_addresses_are_allowed(mailbox_config, secure_relay, mail_from, headers):
    secure = await secure_relay()
    reply = await _as_anna(secure, mail_from, *headers)
    assert reply.code == 250, reply


@pytest.mark.parametrize(
    "mail_from,headers,refused",
    [
        # A mailbox she is not a member of.
        (ANNA, ["From: <orders@example.com>", f"Sender: <{ANNA}>"], "From: address <orders@"),
        # Her send_as names a person, not a shared mailbox: it grants nothing.
        (ANNA, ["From: <clara.weber@example.com>"], "From: address <clara.weber@"),
        # Another person's alias is no shared mailbox either.
        (ANNA, ["From: <info@example.com>"], "From: address <info@example.com>"),
        # The mailbox as From, but someone else as Sender.
        (ANNA, ["From: <support@example.com>", "Sender: <clara.weber@example.com>"], "Sender:"),
        # In the envelope too.
        ("orders@example.com", ["From: <support@example.com>"], "envelope sender <orders@"),
    ],
)
async def test_everything_else_is_refused(
    mailbox_config, secure_relay, sink: SmtpSink, mail_from, headers, refused
):
    secure = await secure_relay()
    reply = await _as_anna(secure, mail_from, *headers)
    assert reply.code == 550 and refused in reply.text, reply
    assert sink.handler.received == []
