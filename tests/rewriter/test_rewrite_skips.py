"""Mail we must not touch comes out byte for byte, with the reason."""

import pytest
from rewriter_plans import make_plan, message

from rewriter import Outcome
from rewriter.rewrite import rewrite

SIGNED = (
    b'From: a@example.com\r\nContent-Type: multipart/signed; protocol="application/pkcs7-signature";'  # noqa: E501 (a literal message line)
    b' micalg=sha-256; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n'
    b"--b\r\nContent-Type: application/pkcs7-signature\r\n\r\nMIIB\r\n--b--\r\n"
)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (message("x", extra="X-Sigrelay-Processed: 1\r\n"), "marker"),
        (message("x", extra="X-Sigrelay-Skip: yes\r\n"), "skip-header"),
        (message("x", extra="Auto-Submitted: auto-replied\r\n"), "auto-submitted"),
        (message("x", extra="DKIM-Signature: v=1; a=rsa-sha256; d=example.com\r\n"), "dkim"),
        (SIGNED, "signed"),
        (message("MIIB", "application/pkcs7-mime; smime-type=enveloped-data", "base64"), "signed"),
        (
            message("-----BEGIN PGP MESSAGE-----\r\nhQ\r\n-----END PGP MESSAGE-----\r\n"),
            "pgp-inline",
        ),
        (
            message("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "text/calendar; method=REQUEST"),
            "calendar",
        ),
        (message("x", "multipart/report; report-type=delivery-status; boundary=z"), "report"),
        (message("x", "message/partial; id=1; number=1; total=2"), "partial"),
    ],
)
def test_untouchable_mail_passes_byte_identical_with_reason(raw, reason):
    result = rewrite(raw, make_plan())
    assert (result.outcome, result.reason, result.message) == (Outcome.SKIPPED, reason, raw)


def test_auto_submitted_no_is_rewritten():
    result = rewrite(message("hello\r\n", extra="Auto-Submitted: no\r\n"), make_plan())
    assert result.outcome is Outcome.REWRITTEN


def test_dkim_signed_mail_is_rewritten_when_the_relay_resigns():
    raw = message("hello\r\n", extra="DKIM-Signature: v=1; d=example.com\r\n")
    assert rewrite(raw, make_plan(resign_dkim=True)).outcome is Outcome.REWRITTEN


def test_calendar_inside_alternative_is_left_alone():
    raw = message(
        "--z\r\nContent-Type: text/plain\r\n\r\nmeet\r\n--z\r\nContent-Type: text/calendar\r\n\r\n"
        "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n--z--\r\n",
        "multipart/alternative; boundary=z",
    )
    assert rewrite(raw, make_plan()).reason == "calendar"


def test_rewritten_copy_carries_the_marker_header():
    result = rewrite(message("hello\r\n"), make_plan(marker_value="relay-7"))
    assert b"\r\nX-Sigrelay-Processed: relay-7\r\n" in result.message


def test_a_plan_that_raises_fails_open_with_the_original():
    def broken(url: str) -> str:
        raise RuntimeError("template exploded")

    raw = message("hello\r\n")
    result = rewrite(raw, make_plan(tag_link=broken, track_text_links=True))
    assert (result.outcome, result.message) == (Outcome.FAILED, raw)
    assert "template exploded" in result.reason


def test_bytes_without_header_fields_pass_unchanged():
    raw = b"\x00\xff not a message at all"
    result = rewrite(raw, make_plan())
    assert (result.outcome, result.reason, result.message) == (Outcome.SKIPPED, "no-headers", raw)
