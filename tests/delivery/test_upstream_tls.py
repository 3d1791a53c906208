"""Delivery over verified TLS: `?tls=required` checks the upstream's
certificate, against `[upstream] ca_file` when the admin names one."""

from __future__ import annotations

import asyncio
import ssl
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP
from relayclient import DeliveryWatch, smtp_send

from peers import free_port
from smtpsink import SinkHandler

sys.path.insert(0, str(Path(__file__).parents[1] / "relay_security"))
from securerelay import make_certificate  # noqa: E402  (the security tests' helper)

SALES = "anna.schmidt@example.com"


@pytest.fixture
async def tls_upstream(tmp_path: Path) -> AsyncIterator[tuple[int, SinkHandler, Path]]:
    """An SMTP sink that requires STARTTLS, with a self-signed certificate."""
    cert, key = make_certificate(tmp_path, "upstream")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    handler, port = SinkHandler(), free_port()
    loop = asyncio.get_running_loop()

    def factory() -> SMTP:
        return SMTP(handler, tls_context=context, require_starttls=True, decode_data=False)

    server = await loop.create_server(factory, "127.0.0.1", port)
    yield port, handler, cert
    server.close()
    await server.wait_closed()


async def test_the_admins_ca_file_verifies_the_upstream(start_relay, tls_upstream):
    port, upstream, cert = tls_upstream
    relay = await start_relay(
        SIGRELAY_UPSTREAM__URL=f"smtp://127.0.0.1:{port}?tls=required",
        SIGRELAY_UPSTREAM__CA_FILE=str(cert),
    )
    await smtp_send(relay.address[1], SALES, ["kim@customer.test"])
    (copy,) = await upstream.wait_for(1)
    assert copy.rcpt_tos == ("kim@customer.test",)


async def test_an_unverifiable_upstream_gets_nothing_and_the_copy_waits(start_relay, tls_upstream):
    port, upstream, _ = tls_upstream
    relay = await start_relay(SIGRELAY_UPSTREAM__URL=f"smtp://127.0.0.1:{port}?tls=required")
    watch = DeliveryWatch(relay.worker)

    await smtp_send(relay.address[1], SALES, ["kim@customer.test"])
    await watch.until(lambda: len(watch.attempts) >= 1)

    ((_, copy),) = watch.attempts[:1]
    assert copy.status.value == "pending" and copy.last_error.startswith("451 4.4.1")
    assert upstream.received == []
