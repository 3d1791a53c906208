"""Findings of the fuzz harnesses (tests/hardening/fuzz/) in the sender checks:
deeply nested comments in From: (issue 14, finding 3) once raised RecursionError
in the check and answered "500 Error: (RecursionError)" with a traceback in the
log. Other findings have their regression tests beside the code's other tests
(docs/reliability.md)."""

from __future__ import annotations

import logging
import smtplib

import pytest
from relayclient import smtp_send

from config import load_config
from proxy.auth import Identity
from proxy.senders import SenderAuthorization

SALES = "anna.schmidt@example.com"
NESTED_FROM = (
    b"From: " + b"(" * 3000 + b"x" + b")" * 3000 + b" <anna.schmidt@example.com>\r\n"
    b"To: kim@customer.test\r\nSubject: deep\r\n\r\nHello.\r\n"
)


def test_sender_check_of_a_from_with_3000_nested_comments_is_an_answer_not_an_exception():
    checks = SenderAuthorization(load_config(env={}))
    result = checks.check_from(Identity("anna", SALES), NESTED_FROM, SALES)
    assert result is not None and result.status.startswith("5")


async def test_relay_refuses_a_from_with_3000_nested_comments_with_one_log_line(
    start_relay, caplog
):
    relay = await start_relay()
    caplog.set_level(logging.INFO)

    with pytest.raises(smtplib.SMTPDataError) as refused:
        await smtp_send(relay.address[1], SALES, ["kim@customer.test"], NESTED_FROM)

    assert refused.value.smtp_code in (550, 553, 554)
    assert not any(r.exc_info for r in caplog.records), "no traceback in the log"
