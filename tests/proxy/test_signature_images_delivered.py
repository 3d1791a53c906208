"""Signature images in delivered copies: smtplib -> relay -> sink, with a logo
hosted on the tracker or embedded as a CID part (group `embed_images`)."""

from __future__ import annotations

import base64
from email.message import EmailMessage

from imagefiles import LOGO, add_logo
from relayclient import smtp_send

from mailparts import parse
from smtpsink import SmtpSink

SALES = "anna.schmidt@example.com"  # group "sales"
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"


def offer_with_attachment() -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = SALES, "kim@customer.test", "Offer"
    message.set_content("Hello,\n\nour offer.\n")
    message.add_alternative("<html><body><p>Hello,</p><p>our offer.</p></body></html>", "html")
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="offer.pdf")
    return message.as_bytes().replace(b"\n", b"\r\n")


async def _deliver(start_relay, sink: SmtpSink) -> EmailMessage:
    relay = await start_relay()
    await smtp_send(relay.address[1], SALES, ["kim@customer.test"], offer_with_attachment())
    (copy,) = await sink.handler.wait_for(1)
    assert b"X-Sigrelay-Processed:" in copy.data
    message = parse(copy.data)
    assert not message.defects and all(not part.defects for part in message.walk())
    (attachment,) = [p for p in message.walk() if p.get_filename() == "offer.pdf"]
    assert attachment.get_content() == PDF  # byte for byte
    return message


async def test_hosted_logo_is_a_tracker_url_in_the_copy(config_dir, start_relay, sink):
    add_logo(config_dir, embed=False)
    message = await _deliver(start_relay, sink)
    html = message.get_body(preferencelist=("html",)).get_content()
    assert '<img src="http://127.0.0.1:8080/i/logo.png" alt="Example logo"' in html
    assert not [p for p in message.walk() if p.get_content_type() == "image/png"]


async def test_embedded_logo_is_an_inline_part_the_html_refers_to(config_dir, start_relay, sink):
    add_logo(config_dir, embed=True)
    message = await _deliver(start_relay, sink)
    (related,) = [p for p in message.walk() if p.get_content_type() == "multipart/related"]
    html_part, image_part = related.get_payload()
    assert html_part.get_content_type() == "text/html"
    cid = image_part["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html_part.get_content()
    assert image_part.get_content_type() == "image/png"
    assert base64.b64decode(image_part.get_payload()) == LOGO
