"""Charsets and transfer encodings of the parts we change (RFC 2045)."""

import re

from rewriter_plans import body_of, make_plan, message, parsed

from rewriter import LinkMode, Signature
from rewriter.rewrite import rewrite

UMLAUT = Signature(html="<p>Jürgen Müller</p>", text="Jürgen Müller")
ASCII = Signature(html="<p>Jane</p>", text="Jane")


def _part_header(raw: bytes, name: str) -> str:
    return str(parsed(raw)[name])


def test_latin1_part_keeps_its_charset_when_the_signature_fits():
    raw = message("Grüße\r\n".encode("iso-8859-1"), "text/plain; charset=iso-8859-1", "8bit")
    out = rewrite(raw, make_plan(signature=UMLAUT, allow_8bit=True)).message
    assert parsed(out).get_content_charset() == "iso-8859-1"
    assert body_of(out, "text/plain").endswith("Jürgen Müller\r\n")


def test_part_becomes_utf8_when_the_signature_does_not_fit():
    raw = message("Привет\r\n".encode("koi8-r"), "text/plain; charset=koi8-r", "8bit")
    out = rewrite(raw, make_plan(signature=UMLAUT, allow_8bit=True)).message
    assert parsed(out).get_content_charset() == "utf-8"
    assert body_of(out, "text/plain").startswith("Привет") and "Jürgen" in body_of(
        out, "text/plain"
    )


def test_quoted_printable_stays_quoted_printable_with_short_lines():
    raw = message(
        "caf=C3=A9 " + "x" * 70 + "=\r\ny\r\n", "text/plain; charset=utf-8", "quoted-printable"
    )
    out = rewrite(raw, make_plan(signature=UMLAUT)).message
    assert _part_header(out, "Content-Transfer-Encoding") == "quoted-printable"
    body = out.split(b"\r\n\r\n", 1)[1]
    assert max(len(line) for line in body.split(b"\r\n")) <= 76


def test_base64_stays_base64_with_76_character_lines():
    import base64

    text = ("Zeile mit Umlauten äöü " * 20 + "\r\n").encode()
    raw = message(
        base64.encodebytes(text).replace(b"\n", b"\r\n"), "text/plain; charset=utf-8", "base64"
    )
    out = rewrite(raw, make_plan(signature=UMLAUT)).message
    assert _part_header(out, "Content-Transfer-Encoding") == "base64"
    body = out.split(b"\r\n\r\n", 1)[1]
    assert max(len(line) for line in body.split(b"\r\n")) <= 76
    assert body_of(out, "text/plain").startswith(text.decode())


def test_7bit_part_gaining_non_ascii_becomes_quoted_printable_without_8bitmime():
    out = rewrite(
        message("Hi\r\n", "text/plain; charset=us-ascii"), make_plan(signature=UMLAUT)
    ).message
    assert _part_header(out, "Content-Transfer-Encoding") == "quoted-printable"
    assert out.split(b"\r\n\r\n", 1)[1].isascii()


def test_7bit_part_gaining_non_ascii_goes_8bit_when_upstream_offers_8bitmime():
    out = rewrite(message("Hi\r\n"), make_plan(signature=UMLAUT, allow_8bit=True)).message
    assert _part_header(out, "Content-Transfer-Encoding") == "8bit"


def test_ascii_addition_keeps_7bit_unchanged():
    out = rewrite(
        message("Hi\r\n", "text/plain; charset=us-ascii", "7bit"), make_plan(signature=ASCII)
    ).message
    assert _part_header(out, "Content-Transfer-Encoding") == "7bit" and b"charset=us-ascii" in out


def test_html_converted_to_utf8_updates_its_meta_charset():
    html = '<html><head><meta http-equiv="Content-Type" content="text/html; charset=koi8-r"></head><body>x</body></html>\r\n'  # noqa: E501 (a literal message line)
    raw = message(html, "text/html; charset=koi8-r")
    out = rewrite(raw, make_plan(signature=UMLAUT, link_mode=LinkMode.NONE, banner=None)).message
    assert "charset=utf-8" in body_of(out, "text/html")


def test_lf_only_input_comes_out_with_crlf_line_ends():
    raw = message("Hi\r\n").replace(b"\r\n", b"\n")
    out = rewrite(raw, make_plan()).message
    assert b"\n" not in out.replace(b"\r\n", b"")


def test_every_output_line_is_at_most_998_octets():
    raw = message("<p>" + "word " * 400 + "</p>", "text/html; charset=utf-8")
    out = rewrite(raw, make_plan(signature=UMLAUT)).message
    assert not re.search(rb"[^\r\n]{999}", out)
