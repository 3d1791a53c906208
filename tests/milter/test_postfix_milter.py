"""`sigrelay milter` behind a real Postfix (a private instance, loopback only):
mail submitted with swaks comes out at Postfix's relayhost signed, its
attachment byte for byte, and a message that passes twice is signed once."""

from __future__ import annotations

import base64
import email
import email.policy
from pathlib import Path

from swaks import swaks

from peers import free_port
from postfixpeer import milter_settings
from smtpsink import SmtpSink

SALES = "anna.schmidt@example.com"
KIM = "kim@customer.test"
ATTACHMENT = bytes(range(256)) * 40
ENCODED = base64.encodebytes(ATTACHMENT).replace(b"\n", b"\r\n")


def _message() -> bytes:
    return (
        (
            f"From: Anna Schmidt <{SALES}>\r\nTo: {KIM}\r\nSubject: Our offer\r\n"
            "Message-ID: <milter-1@example.com>\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/mixed;\r\n\tboundary="b1"\r\n\r\n'
            "--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
            "<p>Hello Kim,</p><p>please find our offer attached.</p>\r\n"
            "--b1\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
            "Content-Disposition: attachment; filename=offer.pdf\r\n\r\n"
        ).encode()
        + ENCODED
        + b"--b1--\r\n"
    )


async def _submit(port: int, message: bytes, tmp_path: Path) -> None:
    file = tmp_path / "message.eml"
    file.write_bytes(message)
    run = await swaks(port, "--from", SALES, "--to", KIM, "--data", f"@{file}")
    assert run.delivered, run.transcript


async def test_postfix_with_the_milter_signs_and_keeps_the_attachment_byte_for_byte(
    milter_process: int, postfix, sink: SmtpSink, tmp_path: Path
):
    mta = postfix(relayhost=f"127.0.0.1:{sink.port}", extra=milter_settings(milter_process))

    await _submit(mta.port, _message(), tmp_path)
    (copy,) = await sink.handler.wait_for(1, timeout=30)

    parsed = email.message_from_bytes(copy.data, policy=email.policy.default)
    assert parsed["X-Sigrelay-Processed"], "signed by the milter"
    assert parsed["Message-ID"] == "<milter-1@example.com>"
    html = next(p for p in parsed.walk() if p.get_content_type() == "text/html")
    assert "Anna Schmidt" in html.get_content(), "the sales signature"
    assert "/b/" in html.get_content(), "the campaign banner"
    assert ENCODED in copy.data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"), (
        "the attachment's bytes as they were sent"
    )
    (pdf,) = [p for p in parsed.walk() if p.get_filename() == "offer.pdf"]
    assert pdf.get_content() == ATTACHMENT


async def test_a_message_passing_the_milter_twice_is_signed_once(
    milter_process: int, postfix, sink: SmtpSink, tmp_path: Path
):
    """Two Postfix instances in a row, both with the milter (a loop through a
    second MTA): the marker header of the first pass stops the second."""
    second = postfix(relayhost=f"127.0.0.1:{sink.port}", extra=milter_settings(milter_process))
    first = postfix(relayhost=f"127.0.0.1:{second.port}", extra=milter_settings(milter_process))

    await _submit(first.port, _message(), tmp_path)
    (copy,) = await sink.handler.wait_for(1, timeout=30)

    assert copy.data.count(b"X-Sigrelay-Processed:") == 1
    parsed = email.message_from_bytes(copy.data, policy=email.policy.default)
    html = next(p for p in parsed.walk() if p.get_content_type() == "text/html")
    assert html.get_content().count("Key Account Manager") == 1, "one signature"


async def test_with_the_milter_down_postfix_passes_mail_on_unsigned(
    postfix, sink: SmtpSink, tmp_path: Path
):
    nobody_listens = free_port()
    mta = postfix(relayhost=f"127.0.0.1:{sink.port}", extra=milter_settings(nobody_listens))

    await _submit(mta.port, _message(), tmp_path)
    (copy,) = await sink.handler.wait_for(1, timeout=30)

    assert b"X-Sigrelay-Processed:" not in copy.data
    assert ENCODED in copy.data
