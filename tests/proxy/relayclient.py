"""Helpers of the proxy tests: a real SMTP client (smtplib) and small messages."""

from __future__ import annotations

import asyncio
import smtplib
from ipaddress import ip_network

from proxy.server import RelayPolicy

LOOPBACK = (ip_network("127.0.0.0/8"),)
SOMEWHERE_ELSE = (ip_network("192.0.2.0/24"),)  # TEST-NET-1: the test client is never in it


def message(sender: str = "anna.schmidt@example.com", to: str = "kim@customer.test") -> bytes:
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: Our offer\r\n"
        "Message-ID: <offer-1@example.com>\r\n\r\nHello,\r\n\r\nplease find our offer.\r\n"
    ).encode()


async def smtp_send(
    port: int, sender: str, rcpts: list[str], data: bytes | None = None
) -> dict[str, tuple[int, bytes]]:
    """Send with smtplib (a real SMTP client) in a thread; the refused recipients.
    Raises smtplib's exceptions exactly as a client program would see them."""

    def send() -> dict:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            return client.sendmail(sender, rcpts, data or message(sender, rcpts[0]))

    return await asyncio.to_thread(send)


def policy(trusted=LOOPBACK, max_recipients: int = 100, max_size: int = 1_000_000) -> RelayPolicy:
    return RelayPolicy(trusted, max_recipients=max_recipients, max_message_size=max_size)
