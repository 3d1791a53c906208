"""Transfer encodings and charset labels as mail readers read them (issue 13, part 4)."""

import re

import pytest
from rewriter_plans import make_plan, message, parsed

from peers import CORPUS, require_corpus
from rewriter import Outcome, Signature
from rewriter.mime import canonical_transfer_encoding
from rewriter.rewrite import rewrite
from rewriter.transfer import Undecodable, codec_for, decode_body

ASCII = Signature(html="<p>Jane</p>", text="Jane")
UMLAUT = Signature(html="<p>Jürgen Müller</p>", text="Jürgen Müller")
EURO = Signature(html="<p>Preis 5 €</p>", text="Preis 5 €")


def _cte(raw: bytes) -> list[str]:
    return [v.decode() for v in re.findall(rb"(?im)^content-transfer-encoding:\s*([^\r\n]*)", raw)]


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("quoted-printable;", "quoted-printable"),
        ("Quoted-Printable", "quoted-printable"),
        ("  QUOTED-PRINTABLE  ", "quoted-printable"),
        ("quoted-printable (Outlook)", "quoted-printable"),
        ('"base64"', "base64"),
        ("BASE64;", "base64"),
        ("8-bit", "8bit"),
        ("8 bit", "8bit"),
        ("8bits", "8bit"),
        ("7-bit", "7bit"),
        ("7Bit", "7bit"),
        ("binary", "binary"),
        ("", "7bit"),
        (None, "7bit"),
        ("x-uuencode", "x-uuencode"),
    ],
)
def test_transfer_encoding_is_read_by_its_first_token(written, meant):
    assert canonical_transfer_encoding(written) == meant


@pytest.mark.parametrize("written", ["x-foo", "text/html", "plain", "quoted printable"])
def test_unknown_transfer_encoding_is_read_as_the_bytes_themselves(written):
    # Thunderbird and Python's email show such a body as it is (identity).
    assert canonical_transfer_encoding(written) == "7bit"


def test_quoted_printable_with_trailing_semicolon_is_decoded_and_signed():
    raw = message("Gr=C3=BC=C3=9Fe\r\n", "text/plain; charset=utf-8", "quoted-printable;")
    out = rewrite(raw, make_plan(signature=UMLAUT))
    assert out.outcome is Outcome.REWRITTEN, out.reason
    assert parsed(out.message).get_content().startswith("Grüße\r\n")
    assert "Jürgen Müller" in parsed(out.message).get_content()


def test_a_part_we_re_encode_gets_its_transfer_encoding_written_canonically():
    raw = message("Gr=C3=BC=C3=9Fe\r\n", "text/plain; charset=utf-8", "quoted-printable;")
    assert _cte(rewrite(raw, make_plan(signature=UMLAUT)).message) == ["quoted-printable"]
    raw = message("Hello\r\n", "text/plain; charset=utf-8", "8-bit")
    assert _cte(rewrite(raw, make_plan(signature=ASCII)).message) == ["8bit"]


def test_transfer_encoding_in_other_case_is_left_as_written():
    raw = message("Hello\r\n", "text/plain; charset=utf-8", "7BIT")
    assert _cte(rewrite(raw, make_plan(signature=ASCII)).message) == ["7BIT"]


def test_binary_text_part_is_signed_as_the_bytes_it_is():
    raw = message("Hello\r\n", "text/plain; charset=utf-8", "binary")
    out = rewrite(raw, make_plan(signature=ASCII))
    assert out.outcome is Outcome.REWRITTEN and "Jane" in parsed(out.message).get_content()


def test_uuencoded_text_part_is_left_byte_for_byte():
    raw = message("begin 644 a.txt\r\n#86)C\r\n`\r\nend\r\n", "text/plain", "x-uuencode")
    assert rewrite(raw, make_plan()).outcome is Outcome.SKIPPED


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("utf8", "utf-8"),
        ("UTF-8;", "utf-8"),
        ('"utf-8"', "utf-8"),
        ("unicode-1-1-utf-8", "utf-8"),
        ("latin1", "latin-1"),
        ("iso8859-1", "latin-1"),
        ("ISO_8859-1:1987", "latin-1"),
        ("l1", "latin-1"),
        ("cp1252", "cp1252"),
        ("windows-1252", "cp1252"),
        ("x-cp1252", "cp1252"),
        ("ansi_x3.4-1968", "ascii"),
        ("ks_c_5601-1987", "cp949"),
        ("gb2312", "gb18030"),
        ("x-gbk", "gb18030"),
        ("Shift-JIS", "cp932"),
        ("x-sjis", "cp932"),
        ("big5", "big5hkscs"),
        ("x-mac-cyrillic", "mac-cyrillic"),
        ("x-mac-roman", "mac-roman"),
        ("x-mac-ce", "mac-latin2"),
        ("tis-620", "iso8859-11"),
        ("utf-7", "utf-7"),
    ],
)
def test_charset_labels_resolve_as_in_the_whatwg_table(label, codec):
    import codecs

    assert codecs.lookup(codec_for(label)).name == codecs.lookup(codec).name


@pytest.mark.parametrize("label", ["x-unknown", "unknown-8bit", "no-such-charset", "base64"])
def test_unknown_charset_keeps_the_bytes(label):
    assert decode_body("caf\xe9".encode("latin-1"), "8bit", label).encode(
        "ascii", "surrogateescape"
    ) == "caf\xe9".encode("latin-1")


@pytest.mark.parametrize("label", ["iso-2022-kr", "hz-gb-2312", "iso-2022-cn", "replacement"])
def test_replacement_charsets_are_undecodable(label):
    with pytest.raises(Undecodable):
        decode_body(b"hello", "7bit", label)


def test_undecodable_part_is_left_while_the_other_is_signed():
    boundary = "b1"
    body = (
        f"--{boundary}\r\nContent-Type: text/plain; charset=iso-2022-kr\r\n\r\nhello\r\n"
        f"--{boundary}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        f"<html><body><p>hello</p></body></html>\r\n--{boundary}--\r\n"
    )
    raw = message(body, f'multipart/alternative; boundary="{boundary}"')
    out = rewrite(raw, make_plan(signature=ASCII))
    assert out.outcome is Outcome.REWRITTEN
    assert b"charset=iso-2022-kr\r\n\r\nhello\r\n--b1" in out.message
    assert "Jane" in [p for p in parsed(out.message).walk()][2].get_content()


def test_us_ascii_part_with_8bit_bytes_keeps_its_bytes_when_the_signature_fits():
    raw = message(b"caf\xe9 \x93quoted\x94\r\n", "text/plain; charset=us-ascii", "8bit")
    out = rewrite(raw, make_plan(signature=ASCII, allow_8bit=True)).message
    assert b"caf\xe9 \x93quoted\x94\r\n" in out and b"charset=us-ascii" in out


def test_us_ascii_part_with_8bit_bytes_becomes_utf8_as_readers_showed_it():
    # Readers show us-ascii as windows-1252 (WHATWG): 0x93 is a left quote.
    raw = message(b"caf\xe9 \x93quoted\x94\r\n", "text/plain; charset=us-ascii", "8bit")
    out = rewrite(raw, make_plan(signature=UMLAUT, allow_8bit=True)).message
    text = parsed(out).get_content()
    assert parsed(out).get_content_charset() == "utf-8"
    assert text.startswith("café \u201cquoted\u201d") and "Jürgen" in text


def test_latin1_part_never_gets_a_windows_1252_only_character():
    raw = message("Grüße\r\n".encode("latin-1"), "text/plain; charset=iso-8859-1", "8bit")
    out = rewrite(raw, make_plan(signature=EURO, allow_8bit=True)).message
    assert parsed(out).get_content_charset() == "utf-8"
    text = parsed(out).get_content()
    assert text.startswith("Grüße\r\n") and text.endswith("-- \r\nPreis 5 €\r\n")


def test_unknown_charset_with_utf8_bytes_becomes_utf8_without_mojibake():
    raw = message("Grüße\r\n".encode(), "text/plain; charset=x-unknown", "8bit")
    out = rewrite(raw, make_plan(signature=UMLAUT, allow_8bit=True)).message
    assert parsed(out).get_content().startswith("Grüße\r\n")


def test_corpus_message_with_quoted_printable_semicolon_gets_the_html_signature():
    require_corpus("malformed")
    raw = (CORPUS / "malformed" / "content_transfer_encoding_with_semi_colon.eml").read_bytes()
    out = rewrite(raw, make_plan())
    assert out.outcome is Outcome.REWRITTEN, out.reason
    html = next(p for p in parsed(out.message).walk() if p.get_content_type() == "text/html")
    assert "Jane Roe" in html.get_content() and html["Content-Transfer-Encoding"] == (
        "quoted-printable"
    )
