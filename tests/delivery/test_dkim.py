"""DKIM signing of the rewritten copies, verified with dkimpy against a test DNS."""

from __future__ import annotations

import base64
import re
import subprocess
from pathlib import Path

import dkim
import pytest
from relayclient import smtp_send

from config import load_config
from peers import require_binary
from proxy.dkim import DkimKeyError, DkimSigner, load_signer
from smtpsink import SmtpSink

MESSAGE = (
    b"From: Anna Schmidt <anna.schmidt@example.com>\r\nTo: kim@customer.test\r\n"
    b"Subject: Our offer\r\nMessage-ID: <offer-1@example.com>\r\n"
    b"Date: Mon, 02 Mar 2026 09:00:00 +0000\r\n\r\nHello,\r\n\r\nplease find our offer.\r\n"
)


@pytest.fixture(scope="module")
def key_pair(tmp_path_factory) -> tuple[Path, bytes]:
    """(private key file, the public key's DER for the DNS record)."""
    openssl = require_binary("openssl")
    directory = tmp_path_factory.mktemp("dkim")
    private = directory / "dkim.key"
    subprocess.run([openssl, "genrsa", "-out", str(private), "2048"], check=True,
                   capture_output=True)  # fmt: skip
    der = subprocess.run([openssl, "rsa", "-in", str(private), "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout  # fmt: skip
    return private, der


def dns_for(der: bytes, selector: str = "sigrelay", domain: str = "example.com"):
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes:
        return record if name == f"{selector}._domainkey.{domain}.".encode() else b""

    return dnsfunc


def signer(key_pair) -> DkimSigner:
    return DkimSigner("sigrelay", "example.com", key_pair[0].read_bytes())


def test_a_signed_copy_verifies_against_the_published_key(key_pair):
    signed = signer(key_pair).sign(MESSAGE)
    assert signed.startswith(b"DKIM-Signature:")
    assert dkim.verify(signed, dnsfunc=dns_for(key_pair[1]))


def test_a_changed_body_no_longer_verifies(key_pair):
    signed = signer(key_pair).sign(MESSAGE)
    assert not dkim.verify(signed.replace(b"our offer", b"a forgery"), dnsfunc=dns_for(key_pair[1]))


def test_mail_from_another_domain_is_not_signed(key_pair):
    other = MESSAGE.replace(b"anna.schmidt@example.com", b"anna@elsewhere.test")
    assert signer(key_pair).sign(other) == other


def test_a_subdomain_of_the_signing_domain_is_signed(key_pair):
    sub = MESSAGE.replace(b"anna.schmidt@example.com", b"anna@sales.example.com")
    assert signer(key_pair).sign(sub).startswith(b"DKIM-Signature:")


def test_a_missing_key_file_stops_the_start_naming_the_file(relay_env, tmp_path):
    cfg = load_config(env={**relay_env, "SIGRELAY_DKIM__ENABLED": "true",
                           "SIGRELAY_DKIM__DOMAIN": "example.com",
                           "SIGRELAY_DKIM__KEY_FILE": str(tmp_path / "absent.key")})  # fmt: skip
    with pytest.raises(DkimKeyError, match="absent.key"):
        load_signer(cfg)


async def test_relay_rewrites_an_arriving_signed_message_and_signs_it_again(
    start_relay, sink: SmtpSink, key_pair
):
    arriving = signer(key_pair).sign(MESSAGE)  # e.g. signed by the sender's own client
    relay = await start_relay(
        SIGRELAY_DKIM__ENABLED="true",
        SIGRELAY_DKIM__DOMAIN="example.com",
        SIGRELAY_DKIM__KEY_FILE=str(key_pair[0]),
    )

    await smtp_send(relay.address[1], "anna.schmidt@example.com", ["kim@customer.test"], arriving)
    (copy,) = await sink.handler.wait_for(1)

    assert b"X-Sigrelay-Processed:" in copy.data, "rewritten although it arrived signed"
    assert re.match(rb"DKIM-Signature: ", copy.data)
    assert dkim.verify(copy.data, dnsfunc=dns_for(key_pair[1]))
