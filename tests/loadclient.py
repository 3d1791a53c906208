"""Mail under load for the crash tests (tests/delivery, tests/hardening):
clients that send numbered messages and remember which ones the relay
acknowledged, and how to tell copies apart."""

from __future__ import annotations

import re
import smtplib

SALES = "anna.schmidt@example.com"
MESSAGE_ID = re.compile(rb"Message-ID: <load-(\d+)@example\.com>")
QUEUE_ID = re.compile(rb"with ESMTP id ([0-9A-Z]{19})")


def load_message(number: int) -> bytes:
    return (
        f"From: {SALES}\r\nTo: r{number}@customer.test\r\nSubject: Load {number}\r\n"
        f"Message-ID: <load-{number}@example.com>\r\n\r\nHello number {number}.\r\n"
    ).encode()


def number_of(copy: bytes) -> int:
    found = MESSAGE_ID.search(copy)
    assert found, "a copy without our Message-ID"
    return int(found.group(1))


def queue_id_of(copy: bytes) -> str:
    found = QUEUE_ID.search(copy)
    assert found, "a copy without our Received: header"
    return found.group(1).decode()


def send_all(port: int, numbers: range, acked: list[int]) -> None:
    """One connection per message, as a busy mail client; a refused or cut-off
    message is not acknowledged (the client would send it again)."""
    for number in numbers:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
                smtp.sendmail(SALES, [f"r{number}@customer.test"], load_message(number))
        except (OSError, smtplib.SMTPException):
            continue
        acked.append(number)
