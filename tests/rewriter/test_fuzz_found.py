"""Messages on which the rewriter failed open (the copy left without its
signature), found by tests/hardening/fuzz/fuzz_rewriter.py; each now gets
its signature."""

from __future__ import annotations

import pytest
from rewriter_plans import SIGNATURE, make_plan

from rewriter import LinkMode, Outcome
from rewriter.rewrite import rewrite


def _signed(result) -> bool:
    return result.outcome is Outcome.REWRITTEN and SIGNATURE.text.split("\n")[0].encode() in (
        result.message
    )


def test_a_content_disposition_with_an_8bit_byte_does_not_stop_the_signature():
    # Python's email hands such a field over as a Header object, not a str.
    message = b"Content-Disposition: in\xedd\r\n\r\nHello.\r\n"
    assert _signed(rewrite(message, make_plan()))


@pytest.mark.parametrize(
    "message",
    [
        # a charset with a NUL in it (codecs.lookup raises ValueError) beside header garbage
        b"From: a@example.com\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: text/plain; charset="\x00utf-8"\r\nno header \xe9\r\n\r\nHello.\r\n',
        # the same in an HTML part
        b'MIME-Version: 1.0\r\nContent-Type: text/html; charset="\x00utf-8"\r\n\r\n<p>Hi</p>\r\n',
        # an RFC 2231 charset* beside header garbage (email's get_payload raises TypeError)
        b'From: a@example.com\r\nContent-Type: text/html; charset*="utf-8"\r\n'
        b"no header \xff\r\n\r\n<p>Hi</p>\r\n",
    ],
    ids=["nul-charset-text", "nul-charset-html", "rfc2231-charset"],
)
def test_odd_charset_labels_beside_header_garbage_do_not_fail_open(message: bytes):
    result = rewrite(message, make_plan())
    assert result.outcome is not Outcome.FAILED, result.reason


def test_a_link_the_plan_cannot_tag_stays_as_it_is_and_the_rest_is_rewritten():
    def tag_link(url: str) -> str:
        url.encode("utf-8")  # as the tracker's tokens do: a lone surrogate raises
        return "http://127.0.0.1:8080/c/T"

    html = '<html><body><a href="http://x.test/\udce9">a</a></body></html>'
    message = (
        b"From: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: text/html\r\n\r\n"
        + html.encode("utf-8", "surrogateescape")
        + b"\r\n"
    )
    result = rewrite(message, make_plan(tag_link=tag_link, link_mode=LinkMode.ALL))
    assert result.outcome is Outcome.REWRITTEN, result.reason
    assert b'href=3D"http://x.test/=E9"' in result.message  # untracked, as it was
