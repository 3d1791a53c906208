"""Sent Items against a real Dovecot (Debian dovecot-imapd) on loopback, logged
in for the sender as a Dovecot master user (issue 19, item 2)."""

from __future__ import annotations

import asyncio
import email
import imaplib
from collections.abc import Iterator

import pytest
from dovecotpeer import Dovecot
from relayclient import smtp_send

from config.schema_sent import ClientCopy, SentItemsSection
from proxy.metrics import REGISTRY
from proxy.sent_items import SentCopy, SentItems

USER, USER_PASSWORD = "anna.schmidt@example.com", "anna-secret"
MASTER, MASTER_PASSWORD = "sigrelay", "master-secret-4711"
MESSAGE = (
    b"From: Anna <anna@example.com>\r\nTo: bob@customer.test\r\nSubject: Offer\r\n"
    b"Message-ID: <offer-1@example.com>\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\nHello Bob,\r\n\r\n-- \r\nAnna Schmidt\r\n"
)
FAST = {"retry_delays": (0.05,), "replace_checks": (0.0, 0.3, 1.0, 3.0)}


@pytest.fixture(scope="module", params=["Sent", "Gesendet"])
def dovecot(request, tmp_path_factory) -> Iterator[Dovecot]:
    server = Dovecot(
        tmp_path_factory.mktemp("dovecot"),
        {USER: USER_PASSWORD},
        {MASTER: MASTER_PASSWORD},
        sent=request.param,
    )
    server.start()
    yield server
    server.stop()


def section(dovecot: Dovecot, **changes) -> SentItemsSection:
    values = {
        "enabled": True,
        "url": f"imap://127.0.0.1:{dovecot.port}",
        "tls": "none",
        "login": "{user}*" + MASTER,
        "password_env": "UNUSED_HERE",
        "attempts": 2,
    }
    return SentItemsSection(**(values | changes))


def mailbox(dovecot: Dovecot) -> imaplib.IMAP4:
    imap = imaplib.IMAP4("127.0.0.1", dovecot.port)
    imap.login(USER, USER_PASSWORD)
    imap.select(f'"{dovecot.sent}"')
    return imap


def sent_messages(dovecot: Dovecot, message_id: str) -> list[tuple[bytes, bytes]]:
    """(flags, message) of each message with this Message-ID in the sender's Sent."""
    imap = mailbox(dovecot)
    try:
        _, found = imap.search(None, "HEADER", "Message-ID", f'"{message_id}"')
        out = []
        for number in found[0].split():
            _, data = imap.fetch(number, "(FLAGS RFC822)")
            out.append((data[0][0], data[0][1]))
        return out
    finally:
        imap.logout()


def save_as_mail_program(dovecot: Dovecot, message: bytes) -> None:
    imap = mailbox(dovecot)
    imap.append(f'"{dovecot.sent}"', r"(\Seen)", None, message)
    imap.logout()


async def store(sent: SentItems, copy: SentCopy, outcomes: list[str]) -> str:
    sent.submit(copy)
    while not outcomes:  # the outcome callback fires once the task is done
        await asyncio.sleep(0.01)
    await sent.close()
    return outcomes[0]


def items(dovecot: Dovecot, outcomes: list[str], **changes) -> SentItems:
    return SentItems(
        lambda: section(dovecot, **changes),
        lambda: MASTER_PASSWORD,
        on_outcome=lambda copy, outcome: outcomes.append(outcome),
        **FAST,
    )


async def test_the_copy_lands_in_the_sent_folder_seen_and_whole(dovecot):
    message_id = f"<keep-{dovecot.sent}@example.com>"
    message = MESSAGE.replace(b"<offer-1@example.com>", message_id.encode())
    outcomes: list[str] = []
    assert await store(items(dovecot, outcomes), SentCopy(USER, message, message_id), outcomes) == (
        "appended"
    )
    [(flags, stored)] = sent_messages(dovecot, message_id)
    assert b"\\Seen" in flags
    assert stored.endswith(message)  # byte for byte, after our marker header
    assert email.message_from_bytes(stored)["X-Sigrelay-Sent-Copy"] == "yes"


@pytest.mark.parametrize("program_saves", ["before", "after"])
async def test_replace_removes_the_mail_programs_copy_only(dovecot, program_saves):
    message_id = f"<replace-{program_saves}-{dovecot.sent}@example.com>"
    ours = MESSAGE.replace(b"<offer-1@example.com>", message_id.encode())
    theirs = ours.replace(b"Anna Schmidt", b"(no signature: the mail program's copy)")
    if program_saves == "before":
        save_as_mail_program(dovecot, theirs)
    outcomes: list[str] = []
    sent = items(dovecot, outcomes, client_copy=ClientCopy.REPLACE)
    sent.submit(SentCopy(USER, ours, message_id))
    if program_saves == "after":
        while len(sent_messages(dovecot, message_id)) < 1:  # ours is in: now the program's
            await asyncio.sleep(0.01)
        save_as_mail_program(dovecot, theirs)
    while not outcomes:
        await asyncio.sleep(0.01)
    await sent.close()
    assert outcomes == ["replaced 1"]
    [(_, stored)] = sent_messages(dovecot, message_id)
    assert b"Anna Schmidt" in stored and b"no signature" not in stored


@pytest.mark.parametrize("breakage", ["password", "server"])
async def test_a_failure_is_logged_given_up_and_keeps_no_secret(dovecot, breakage, caplog):
    outcomes: list[str] = []
    changes = {"url": "imap://127.0.0.1:1"} if breakage == "server" else {}
    sent = SentItems(
        lambda: section(dovecot, **changes),
        lambda: "wrong" if breakage == "password" else MASTER_PASSWORD,
        on_outcome=lambda copy, outcome: outcomes.append(outcome),
        **FAST,
    )
    message_id = f"<fail-{breakage}-{dovecot.sent}@example.com>"
    copy = SentCopy(USER, MESSAGE, message_id, queue_id=f"q-{breakage}")
    assert await store(sent, copy, outcomes) == "failed"
    assert "attempt 2 of 2, giving up" in caplog.text
    assert f"queue_id=q-{breakage}" in caplog.text
    assert REGISTRY.get_sample_value("sigrelay_sent_items_total", {"outcome": "failed"}) >= 1
    assert MASTER_PASSWORD not in caplog.text
    assert sent_messages(dovecot, message_id) == []


async def test_the_relay_appends_what_recipients_got_untracked_with_bcc(
    dovecot, start_relay, sink, monkeypatch
):
    """Anna sends through the relay (personal mode: a copy per recipient, each
    with its pixel); her Sent folder gets the first copy without any tag of its
    recipient, signed and bannered like theirs, naming the Bcc recipient."""
    monkeypatch.setenv("SENT_ITEMS_PASSWORD", MASTER_PASSWORD)
    message_id = f"<relay-{dovecot.sent}@example.com>"
    relay = await start_relay(
        SIGRELAY_SENT_ITEMS__ENABLED="true",
        SIGRELAY_SENT_ITEMS__URL=f"imap://127.0.0.1:{dovecot.port}",
        SIGRELAY_SENT_ITEMS__TLS="none",
        SIGRELAY_SENT_ITEMS__LOGIN="{user}*" + MASTER,
        SIGRELAY_SENT_ITEMS__PASSWORD_ENV="SENT_ITEMS_PASSWORD",
    )
    data = (
        b"From: Anna Schmidt <anna.schmidt@example.com>\r\nTo: kim@customer.test\r\n"
        b"Subject: Offer\r\nMessage-ID: " + message_id.encode() + b"\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b'<html><body><p>Hello Kim, see <a href="https://www.example.com/offer">the offer</a>'
        b"</p></body></html>\r\n"
    )
    rcpts = ["kim@customer.test", "hidden@partner.test"]
    await smtp_send(relay.address[1], "anna.schmidt@example.com", rcpts, data)
    delivered = await sink.handler.wait_for(2)
    assert all(b"/o/" in copy.data for copy in delivered)  # the recipients' copies are tracked
    deadline = asyncio.get_running_loop().time() + 15
    while not (found := sent_messages(dovecot, message_id)):
        assert asyncio.get_running_loop().time() < deadline, dovecot.log[-2000:]
        await asyncio.sleep(0.05)
    [(flags, stored)] = found
    parsed = email.message_from_bytes(stored)
    body = parsed.get_payload(decode=True).decode()
    assert "Key Account Manager" in body  # Anna's signature, as the recipients got it
    assert "/o/" not in body and "/c/" not in body and "/u/" not in body  # nothing counts
    assert 'href="https://www.example.com/offer"' in body
    assert parsed["Bcc"] == "hidden@partner.test"
    assert b"\\Seen" in flags
