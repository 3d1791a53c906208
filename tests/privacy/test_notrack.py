"""Per-message no-track: the sender's header or subject tag, removed before sending."""

from __future__ import annotations

from email.header import Header

import pytest

from mailparts import parse
from proxy.notrack import strip_notrack, wants_no_tracking

TAG = "[notrack]"


def _message(*headers: str, body: str = "Hello\r\n") -> bytes:
    lines = ["From: anna@example.com", "To: kim@customer.test", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def test_the_header_no_turns_tracking_off():
    assert wants_no_tracking(_message("X-Sigrelay-Track: no", "Subject: Offer"), TAG)


@pytest.mark.parametrize("value", ["NO", "Off", " no "])
def test_the_header_value_is_read_case_insensitively(value: str):
    assert wants_no_tracking(_message(f"x-sigrelay-track:{value}", "Subject: Offer"), TAG)


def test_a_header_saying_yes_does_not_turn_tracking_off():
    assert not wants_no_tracking(_message("X-Sigrelay-Track: yes", "Subject: Offer"), TAG)


@pytest.mark.parametrize("subject", ["[notrack] Offer", "Offer [NoTrack]", "Re: [NOTRACK] Offer"])
def test_the_subject_tag_turns_tracking_off_in_any_case(subject: str):
    assert wants_no_tracking(_message(f"Subject: {subject}"), TAG)


def test_a_plain_message_is_tracked():
    assert not wants_no_tracking(_message("Subject: Offer about notrack"), TAG)


def test_the_tag_is_configurable():
    assert wants_no_tracking(_message("Subject: Offer {private}"), "{private}")
    assert not wants_no_tracking(_message("Subject: Offer [notrack]"), "{private}")


def test_a_tag_in_the_body_does_not_count():
    assert not wants_no_tracking(_message("Subject: Offer", body="[notrack]\r\n"), TAG)


def test_an_encoded_subject_tag_is_found():
    encoded = Header("[notrack] Angebot für Sie", "utf-8").encode()
    assert wants_no_tracking(_message(f"Subject: {encoded}"), TAG)


def test_the_header_is_removed_and_nothing_else_changes():
    original = _message("X-Sigrelay-Track: no", "Subject: Offer", "X-Other: kept")
    stripped = strip_notrack(original, TAG)
    assert b"X-Sigrelay-Track" not in stripped
    assert stripped == original.replace(b"X-Sigrelay-Track: no\r\n", b"")


def test_a_folded_header_is_removed_with_its_continuation_lines():
    original = _message("X-Sigrelay-Track:\r\n no", "Subject: Offer")
    assert strip_notrack(original, TAG) == _message("Subject: Offer")


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("[notrack] Offer", "Offer"),
        ("Offer [notrack]", "Offer"),
        ("Re: [NoTrack] Offer", "Re: Offer"),
        ("Offer[notrack]for you", "Offer for you"),
    ],
)
def test_the_subject_tag_is_removed_with_its_surrounding_space(subject: str, expected: str):
    stripped = strip_notrack(_message(f"Subject: {subject}"), TAG)
    assert parse(stripped)["Subject"] == expected


def test_an_encoded_subject_keeps_its_text_without_the_tag():
    encoded = Header("[notrack] Angebot für Sie", "utf-8").encode()
    stripped = strip_notrack(_message(f"Subject: {encoded}"), TAG)
    assert parse(stripped)["Subject"] == "Angebot für Sie"
    assert stripped.isascii(), "re-encoded as RFC 2047 words, not raw 8-bit"


def test_a_raw_utf8_subject_keeps_its_bytes():
    original = "Subject: [notrack] Grüße\r\n\r\nHi\r\n".encode()
    assert strip_notrack(original, TAG) == "Subject: Grüße\r\n\r\nHi\r\n".encode()


def test_a_message_without_either_is_returned_as_the_same_bytes():
    original = _message("Subject: Offer")
    assert strip_notrack(original, TAG) is original


def test_the_body_is_never_touched():
    original = _message("Subject: [notrack] Offer", body="X-Sigrelay-Track: no\r\n[notrack]\r\n")
    assert strip_notrack(original, TAG).endswith(b"\r\n\r\nX-Sigrelay-Track: no\r\n[notrack]\r\n")


def test_lf_only_messages_keep_lf_line_ends():
    original = b"Subject: [notrack] Offer\nX-Sigrelay-Track: no\n\nHi\n"
    assert strip_notrack(original, TAG) == b"Subject: Offer\n\nHi\n"
