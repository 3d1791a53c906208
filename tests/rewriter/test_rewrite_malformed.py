"""Malformed MIME: signed where every reader reads it alike, else unchanged (issue 13, part 7)."""

import email
import email.policy

import pytest
from rewriter_plans import make_plan, parsed

from rewriter import Outcome, Signature
from rewriter.mime import Defect, parse
from rewriter.rewrite import rewrite

PLAN = make_plan(signature=Signature(html="<p>Jane</p>", text="Jane"))
HEAD = "From: a@example.com\r\nTo: b@customer.test\r\nSubject: hi\r\nMIME-Version: 1.0\r\n"
TEXT = "Content-Type: text/plain; charset=utf-8\r\n\r\nHello\r\n"
ZIP = "Content-Type: application/zip; name=a.zip\r\nContent-Transfer-Encoding: base64\r\n"


def _mixed(*parts: str, close: bool = True, head: str = "", tail: str = "") -> bytes:
    body = "".join(f"--b1\r\n{part}" for part in parts) + ("--b1--\r\n" if close else "")
    content_type = 'Content-Type: multipart/mixed; boundary="b1"\r\n'
    return (HEAD + head + content_type + tail + "\r\n" + body).encode()


def _defects(raw: bytes) -> int:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    return sum(len(part.defects) for part in message.walk())


def _signed_and_valid(raw: bytes) -> bytes:
    result = rewrite(raw, PLAN)
    assert result.outcome is Outcome.REWRITTEN, result.reason
    assert _defects(result.message) <= _defects(raw)
    before = [p for p in parsed(raw).walk() if p.is_attachment()]
    after = [p for p in parsed(result.message).walk() if p.is_attachment()]
    assert [p.get_payload(decode=True) for p in before] == [
        p.get_payload(decode=True) for p in after
    ]
    return result.message


def test_missing_close_delimiter_takes_the_rest_as_the_last_part():
    out = _signed_and_valid(_mixed(TEXT, close=False))
    assert "Jane" in parsed(out).get_body(("plain",)).get_content()


def test_delimiter_with_trailing_whitespace_is_a_delimiter():
    raw = _mixed(TEXT).replace(b"--b1\r\n", b"--b1 \t\r\n", 1)
    _signed_and_valid(raw)


@pytest.mark.parametrize("end", ["\r", "\r\r"])
def test_close_delimiter_ending_in_a_bare_cr_stays_out_of_the_last_part(end: str):
    # Found by the mutation property test: the close delimiter was taken as text
    # of the last part and re-encoded into it ("--=3D=3D...--=0D").
    raw = _mixed(TEXT)[: -len("\r\n")] + end.encode()
    out = _signed_and_valid(raw)
    assert out.endswith(b"\r\n--b1--" + end.encode())
    assert "--b1" not in parsed(out).get_body(("plain",)).get_content()


def test_header_garbage_in_an_attachment_does_not_stop_the_body_being_signed():
    garbage = ZIP + 'name="a.zip"\r\nContent-Disposition: attachment\r\n\r\nUEsDBA==\r\n'
    raw = _mixed(TEXT, garbage)
    assert [d for p in parse(raw).walk() for d in p.defects] == [Defect.HEADER_GARBAGE]
    _signed_and_valid(raw)


def test_header_garbage_in_a_multipart_header_lands_in_its_preamble():
    raw = _mixed(TEXT, tail="References: <a@b>\r\nc@d>\r\n")
    out = _signed_and_valid(raw)
    header = out.split(b"\r\n\r\n", 1)[0]
    assert b"X-Sigrelay" in header.split(b"c@d>")[0]  # our field is a field for every reader


def test_header_garbage_before_the_content_type_passes_unchanged():
    # Python's email stops at the garbage: no Content-Type, so text/plain for it.
    raw = _mixed(TEXT, head="References: <a@b>\r\nc@d>\r\n")
    assert rewrite(raw, PLAN).reason == "malformed-header-garbage"


def test_header_garbage_in_the_text_part_passes_unchanged():
    raw = (HEAD + "Content-Type: text/plain\r\nnot a field\r\n\r\nHello\r\n").encode()
    result = rewrite(raw, PLAN)
    assert (result.outcome, result.reason) == (Outcome.SKIPPED, "malformed-header-garbage")
    assert result.message == raw


def test_empty_broken_multipart_beside_the_body_is_signed():
    empty = 'Content-Type: multipart/alternative; boundary="b2"\r\n\r\n\r\n'
    _signed_and_valid(_mixed(empty, TEXT))


def test_broken_multipart_after_the_body_is_signed():
    broken = 'Content-Type: multipart/alternative; boundary="b2"\r\n\r\nAAA\r\n'
    _signed_and_valid(_mixed(TEXT, broken))


def test_broken_multipart_before_the_body_passes_unchanged():
    broken = 'Content-Type: multipart/alternative; boundary="b2"\r\n\r\nAAA\r\n'
    result = rewrite(_mixed(broken, TEXT), PLAN)
    assert result.reason == "malformed-boundary-not-found"


def test_boundary_not_found_at_all_passes_unchanged():
    raw = (HEAD + 'Content-Type: multipart/mixed; boundary="b9"\r\n\r\n--b1\r\n' + TEXT).encode()
    assert rewrite(raw, PLAN).reason == "malformed-boundary-not-found"


def test_conflicting_content_types_pass_unchanged():
    raw = _mixed(TEXT, head="Content-Type: text/plain\r\n")
    assert rewrite(raw, PLAN).reason == "malformed-conflicting-fields"


def test_inner_boundary_equal_to_the_outer_passes_unchanged():
    inner = 'Content-Type: multipart/alternative; boundary="b1"\r\n\r\n'
    assert rewrite(_mixed(inner, TEXT), PLAN).reason == "malformed-nested-boundary"


def test_inner_boundary_that_begins_like_the_outer_is_read_alike():
    inner = (
        'Content-Type: multipart/alternative; boundary="b1_alt"\r\n\r\n'
        f"--b1_alt\r\n{TEXT}--b1_alt--\r\n"
    )
    _signed_and_valid(_mixed(inner))


def test_unquoted_boundary_with_specials_passes_unchanged():
    # Python's email (policy.default) cuts it at "=", Thunderbird takes it whole.
    raw = (
        HEAD + "Content-Type: multipart/mixed; boundary=----=_Part1\r\n\r\n"
        f"------=_Part1\r\n{TEXT}------=_Part1--\r\n"
    ).encode()
    assert rewrite(raw, PLAN).reason == "malformed-bad-boundary"


def test_quoted_boundary_containing_boundary_equals_is_not_malformed():
    raw = _mixed(TEXT).replace(b'boundary="b1"', b'boundary="==MIXEDBOUNDARY=="')
    raw = raw.replace(b"--b1", b"--==MIXEDBOUNDARY==")
    assert not any(p.defects for p in parse(raw).walk())
    _signed_and_valid(raw)


def test_boundary_ending_in_a_space_passes_unchanged():
    # RFC 2046 5.1.1 forbids it; Python's email strips the space, mime4j keeps it.
    raw = _mixed(TEXT).replace(b'boundary="b1"', b'boundary="b1 "').replace(b"--b1", b"--b1 ")
    assert rewrite(raw, PLAN).reason == "malformed-bad-boundary"


def test_empty_part_between_two_delimiters_gets_no_text():
    # Text written there would be read as header fields: the next part is signed.
    raw = _mixed("", TEXT)
    out = _signed_and_valid(raw)
    assert out.count(b"Jane") == 1
