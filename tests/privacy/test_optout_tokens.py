"""Opt-out tokens: short, signed, and bound to one recipient."""

from __future__ import annotations

import pytest

from tracker.pseudonym import pseudonym
from tracker.recipients import is_recipient_key, recipient_key, recipient_key_of_stored
from tracker.tokens import (
    UNTRACKED_COPY_ID,
    Keyring,
    Kind,
    Token,
    TokenError,
    decode,
    encode,
    new_copy_id,
)

KEY = b"privacy-tests-pseudonym-key-0001"
KEYRING = Keyring({"abcd": b"privacy-tests-signing-key-bytes!"}, current="abcd")


def _recipient_token(address: str) -> Token:
    return Token(Kind.OPTOUT, UNTRACKED_COPY_ID, recipient=recipient_key(address, KEY))


def test_the_recipient_key_is_12_bytes_of_hex_and_the_same_for_any_case():
    key = recipient_key("Kim@Customer.test", KEY)
    assert is_recipient_key(key) and len(key) == 24
    assert key == recipient_key("kim@customer.test", KEY)
    assert key != recipient_key("lee@customer.test", KEY)


def test_a_pseudonymised_row_leads_to_the_same_key_as_the_address():
    stored = pseudonym("kim@customer.test", KEY)
    assert recipient_key_of_stored(stored, KEY) == recipient_key("kim@customer.test", KEY)


def test_another_pseudonym_key_gives_another_recipient_key():
    assert recipient_key("kim@customer.test", KEY) != recipient_key("kim@customer.test", b"x" * 32)


def test_an_optout_token_with_a_recipient_fits_in_40_characters_with_a_4_char_key_id():
    text = encode(_recipient_token("kim@customer.test"), KEYRING)
    assert len(text) <= 40


def test_an_optout_token_round_trips_its_recipient():
    token = _recipient_token("kim@customer.test")
    assert decode(encode(token, KEYRING), KEYRING, Kind.OPTOUT) == token


def test_an_optout_token_for_a_copy_round_trips_its_copy():
    token = Token(Kind.OPTOUT, new_copy_id())
    assert decode(encode(token, KEYRING), KEYRING, Kind.OPTOUT) == token


def test_an_altered_recipient_token_is_refused():
    text = encode(_recipient_token("kim@customer.test"), KEYRING)
    altered = text[:-5] + ("A" if text[-5] != "A" else "B") + text[-4:]
    assert decode(altered, KEYRING, Kind.OPTOUT) is None


def test_a_pixel_token_is_not_an_optout_token():
    text = encode(Token(Kind.OPEN, new_copy_id()), KEYRING)
    assert decode(text, KEYRING, Kind.OPTOUT) is None


def test_only_optout_tokens_without_a_copy_carry_a_recipient():
    with pytest.raises(TokenError):
        Token(Kind.OPEN, UNTRACKED_COPY_ID, recipient="ab" * 12)
    with pytest.raises(TokenError):
        Token(Kind.OPTOUT, new_copy_id(), recipient="ab" * 12)
    with pytest.raises(TokenError):
        Token(Kind.OPTOUT, UNTRACKED_COPY_ID, recipient="kim@customer.test")
