"""Protocol limits and advertised extensions of the listeners; certificate reload."""

from __future__ import annotations

import asyncio
import hashlib
import smtplib
import socket
import ssl

from securerelay import make_certificate

from config.schema import ListenerMode

SUBMISSION, SMTPS, PLAIN = ListenerMode.SUBMISSION, ListenerMode.SMTPS, ListenerMode.PLAIN


def _ehlo_keywords(port: int) -> set[str]:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo()
        return set(client.esmtp_features)


async def test_ehlo_advertises_the_extensions_clients_rely_on(secure_relay):
    relay = await secure_relay(SIGRELAY_RELAY__MAX_MESSAGE_SIZE="123456")
    keywords = await asyncio.to_thread(_ehlo_keywords, relay.ports[SUBMISSION])
    expected = {"size", "8bitmime", "smtputf8", "pipelining", "enhancedstatuscodes", "starttls"}
    assert expected <= keywords


async def test_size_is_advertised_with_the_configured_limit(secure_relay):
    relay = await secure_relay(SIGRELAY_RELAY__MAX_MESSAGE_SIZE="123456")

    def size() -> str:
        with smtplib.SMTP("127.0.0.1", relay.ports[PLAIN], timeout=10) as client:
            client.ehlo()
            return client.esmtp_features["size"]

    assert await asyncio.to_thread(size) == "123456"


async def test_overlong_command_line_is_refused(secure_relay):
    relay = await secure_relay()

    def send() -> int:
        with smtplib.SMTP("127.0.0.1", relay.ports[PLAIN], timeout=10) as client:
            client.ehlo()
            return client.docmd("NOOP", "x" * 2000)[0]

    assert await asyncio.to_thread(send) == 500


async def test_connections_beyond_the_per_ip_limit_get_421(secure_relay):
    relay = await secure_relay(SIGRELAY_RELAY__MAX_CONNECTIONS_PER_IP="2")
    port = relay.ports[PLAIN]

    def greetings() -> list[bytes]:
        sockets = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(3)]
        try:
            return [s.makefile("rb").readline() for s in sockets]
        finally:
            for s in sockets:
                s.close()

    first, second, third = await asyncio.to_thread(greetings)
    assert first.startswith(b"220") and second.startswith(b"220")
    assert third.startswith(b"421 4.7.0")


async def test_idle_client_gets_421_and_is_disconnected(secure_relay):
    relay = await secure_relay(SIGRELAY_RELAY__COMMAND_TIMEOUT="0.3")

    def idle() -> list[bytes]:
        with socket.create_connection(("127.0.0.1", relay.ports[PLAIN]), timeout=10) as s:
            return s.makefile("rb").readlines()  # until the server closes

    lines = await asyncio.to_thread(idle)
    assert lines[0].startswith(b"220")
    assert lines[-1].startswith(b"421 4.4.2")


def _smtps_certificate(port: int) -> bytes:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    with context.wrap_socket(raw) as tls:
        return tls.getpeercert(binary_form=True) or b""


def _starttls_certificate(port: int) -> bytes:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.starttls(context=context)
        return client.sock.getpeercert(binary_form=True) or b""  # type: ignore[union-attr]


async def test_replaced_certificate_is_used_for_new_connections(secure_relay, tmp_path):
    relay = await secure_relay()
    before = await asyncio.to_thread(_smtps_certificate, relay.ports[SMTPS])
    new_cert, new_key = make_certificate(tmp_path, "renewed")
    relay.key.write_bytes(new_key.read_bytes())
    relay.cert.write_bytes(new_cert.read_bytes())

    after_smtps = await asyncio.to_thread(_smtps_certificate, relay.ports[SMTPS])
    after_starttls = await asyncio.to_thread(_starttls_certificate, relay.ports[SUBMISSION])

    expected = ssl.PEM_cert_to_DER_cert(new_cert.read_text())
    assert hashlib.sha256(before).digest() != hashlib.sha256(expected).digest()
    assert after_smtps == expected
    assert after_starttls == expected
