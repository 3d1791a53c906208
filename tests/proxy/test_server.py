"""The SMTP listener: 250 only once the message is on disk; never an open relay."""

from __future__ import annotations

import asyncio
import contextlib
import resource
import signal
import smtplib
from collections.abc import Iterator

import pytest
from relayclient import SOMEWHERE_ELSE, message, policy, smtp_send

from proxy.server import RelayHandler
from proxy.spool import Spool

SENDER = "anna.schmidt@example.com"


async def test_accepted_message_is_in_the_spool_when_the_client_gets_250(
    spool: Spool, listening_handler
):
    queued: list[str] = []
    port = await listening_handler(RelayHandler(spool, policy(), on_queued=queued.append))
    data = message(SENDER)

    refused = await smtp_send(port, SENDER, ["kim@customer.test", "lee@partner.test"], data)

    assert refused == {}
    assert spool.list() == queued and len(queued) == 1
    entry = spool.load(queued[0])
    assert entry.data == data
    assert entry.envelope.mail_from == SENDER
    assert entry.envelope.rcpts == ("kim@customer.test", "lee@partner.test")
    assert entry.envelope.client_address == "127.0.0.1"


async def test_null_sender_is_spooled_as_empty_so_it_is_never_bounced_to(
    spool: Spool, listening_handler
):
    port = await listening_handler(RelayHandler(spool, policy()))
    refused = await smtp_send(port, "", ["kim@customer.test"], message(SENDER))
    assert refused == {}
    assert spool.load(spool.list()[0]).envelope.mail_from == ""


async def test_the_250_reply_names_the_queue_id(spool: Spool, listening_handler):
    port = await listening_handler(RelayHandler(spool, policy()))

    def send() -> tuple[int, bytes]:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.ehlo()
            client.mail(SENDER)
            client.rcpt("kim@customer.test")
            return client.data(message(SENDER))

    code, text = await asyncio.to_thread(send)
    assert code == 250
    assert text.decode().endswith(f"queued as {spool.list()[0]}")


async def test_client_outside_trusted_networks_may_not_relay(spool: Spool, listening_handler):
    port = await listening_handler(RelayHandler(spool, policy(trusted=SOMEWHERE_ELSE)))

    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        await smtp_send(port, "stranger@elsewhere.test", ["victim@customer.test"])

    assert refused.value.smtp_code == 530
    assert spool.list() == []


async def test_untrusted_client_skipping_mail_from_is_refused_at_rcpt(
    spool: Spool, listening_handler
):
    port = await listening_handler(RelayHandler(spool, policy(trusted=SOMEWHERE_ELSE)))

    def rcpt_without_mail() -> tuple[int, bytes]:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.ehlo()
            return client.rcpt("victim@customer.test")

    code, _ = await asyncio.to_thread(rcpt_without_mail)
    assert 500 <= code < 600
    assert spool.list() == []


async def test_recipients_beyond_the_maximum_are_deferred_with_452(spool: Spool, listening_handler):
    port = await listening_handler(RelayHandler(spool, policy(max_recipients=2)))
    rcpts = ["a@customer.test", "b@customer.test", "c@customer.test"]

    refused = await smtp_send(port, SENDER, rcpts)

    assert refused == {"c@customer.test": (452, b"4.5.3 Too many recipients")}
    assert spool.load(spool.list()[0]).envelope.rcpts == ("a@customer.test", "b@customer.test")


async def test_message_over_the_size_limit_is_refused_and_not_spooled(
    spool: Spool, listening_handler
):
    port = await listening_handler(RelayHandler(spool, policy(max_size=1000)))
    big = message(SENDER) + b"x" * 2000 + b"\r\n"

    with pytest.raises(smtplib.SMTPSenderRefused) as refused:  # SIZE= refused at MAIL FROM
        await smtp_send(port, SENDER, ["kim@customer.test"], big)

    assert refused.value.smtp_code == 552
    assert spool.list() == []


@contextlib.contextmanager
def file_size_limit(limit: int) -> Iterator[None]:
    """Make every write past `limit` bytes fail with EFBIG, as a full disk fails
    with ENOSPC: a real OS error in the spool's write path, no mock."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the kernel kills us
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


async def test_a_failing_spool_write_gives_452_and_never_250(spool: Spool, listening_handler):
    port = await listening_handler(RelayHandler(spool, policy()))
    data = message(SENDER) + (b"y" * 98 + b"\r\n") * 2000  # 200 KB in lines of 100 octets

    with file_size_limit(64 * 1024), pytest.raises(smtplib.SMTPDataError) as refused:
        await smtp_send(port, SENDER, ["kim@customer.test"], data)

    assert refused.value.smtp_code == 452
    assert b"4.3.1" in refused.value.smtp_error
    assert spool.list() == []
    assert list(spool.tmp.iterdir()) == []
