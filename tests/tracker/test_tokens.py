"""Tokens: signed, tamper-evident, rotatable, short where it matters."""

from __future__ import annotations

import base64
import hashlib
import hmac
import stat
import string
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.tokens import (
    KEYS_FILE_NAME,
    MAX_SHORT_TOKEN_CHARS,
    MAX_TOKEN_CHARS,
    Keyring,
    Kind,
    Token,
    TokenError,
    copy_and_target,
    decode,
    encode,
    load_keyring,
    new_copy_id,
    token_url,
    unverified_link,
)

OLD = Keyring({"a1": b"old-secret-of-the-first-year"}, current="a1")
ROTATED = Keyring({"b2": b"new-secret-of-the-second-year", "a1": OLD.keys["a1"]}, current="b2")
KEYRING = ROTATED
COPY = "0123456789abcdef"

copy_ids = st.binary(min_size=8, max_size=8).map(bytes.hex)
urls = st.builds(
    lambda host, path: f"https://{host}.example/{path}",
    st.text(string.ascii_lowercase, min_size=1, max_size=20),
    st.text(min_size=0, max_size=200),
)
tokens = st.one_of(
    st.builds(Token, st.sampled_from([Kind.OPEN, Kind.OPTOUT]), copy_ids),
    st.builds(Token, st.just(Kind.CLICK), copy_ids, urls),
    st.builds(Token, st.just(Kind.BANNER), copy_ids, st.just("spring/b")),
)
TOKEN_ALPHABET = string.ascii_letters + string.digits + "-_."


def _b64(secret: bytes) -> str:
    return base64.b64encode(secret).decode()


@given(tokens)
def test_every_token_decodes_to_itself(token: Token):
    assert decode(encode(token, KEYRING), KEYRING, token.kind) == token


@given(tokens, st.data())
def test_altering_any_character_never_verifies(token: Token, data: st.DataObject):
    text = encode(token, KEYRING)
    position = data.draw(st.integers(0, len(text) - 1))
    replacement = data.draw(st.sampled_from(TOKEN_ALPHABET).filter(lambda c: c != text[position]))
    altered = text[:position] + replacement + text[position + 1 :]
    assert decode(altered, KEYRING, token.kind) is None


@given(tokens, st.data())
def test_truncated_or_extended_tokens_never_verify(token: Token, data: st.DataObject):
    text = encode(token, KEYRING)
    cut = data.draw(st.integers(0, len(text) - 1))
    assert decode(text[:cut], KEYRING, token.kind) is None
    assert decode(text + data.draw(st.sampled_from(TOKEN_ALPHABET)), KEYRING, token.kind) is None


@given(st.text(max_size=300))
def test_garbage_never_verifies_and_never_raises(text: str):
    for kind in Kind:
        assert decode(text, KEYRING, kind) is None


def test_a_token_of_one_kind_is_refused_as_another():
    text = encode(Token(Kind.OPEN, COPY), KEYRING)
    assert [kind for kind in Kind if decode(text, KEYRING, kind)] == [Kind.OPEN]


def test_a_token_signed_with_a_key_not_in_the_keyring_is_refused():
    stranger = Keyring({"a1": b"somebody-elses-secret-value"}, current="a1")
    assert decode(encode(Token(Kind.OPEN, COPY), stranger), KEYRING, Kind.OPEN) is None


def test_a_token_naming_an_unknown_key_id_is_refused():
    text = encode(Token(Kind.OPEN, COPY), KEYRING)
    _, rest = text.split(".", 1)
    assert decode(f"zz.{rest}", KEYRING, Kind.OPEN) is None


def test_after_rotation_the_new_key_signs_and_old_tokens_still_verify():
    old_token = Token(Kind.CLICK, COPY, "https://example.com/offer")
    old_text = encode(old_token, OLD)
    assert decode(old_text, ROTATED, Kind.CLICK) == old_token
    assert encode(old_token, ROTATED).startswith("b2.")


def test_a_key_removed_from_the_keyring_no_longer_verifies():
    retired = Keyring({"b2": ROTATED.keys["b2"]}, current="b2")
    assert decode(encode(Token(Kind.OPEN, COPY), OLD), retired, Kind.OPEN) is None


def test_open_and_optout_tokens_fit_in_40_characters_with_the_longest_key_id():
    keyring = Keyring({"abcd": b"a-secret-for-the-longest-key-id"}, current="abcd")
    for kind in (Kind.OPEN, Kind.OPTOUT):
        assert len(encode(Token(kind, new_copy_id()), keyring)) <= MAX_SHORT_TOKEN_CHARS == 40


def test_click_token_carries_its_target_without_any_store():
    target = "https://shop.example/spring?utm=mail&x=ä#top"
    token = decode(encode(Token(Kind.CLICK, COPY, target), KEYRING), KEYRING, Kind.CLICK)
    assert token is not None and token.target == target


def test_tokens_are_url_safe_without_padding():
    text = encode(Token(Kind.CLICK, COPY, "https://example.com/?q=a b&c=d/e+f"), KEYRING)
    assert set(text) <= set(TOKEN_ALPHABET)


def test_overlong_input_is_refused_without_work():
    assert decode("a1." + "A" * MAX_TOKEN_CHARS, KEYRING, Kind.CLICK) is None


def test_a_target_too_long_for_a_url_cannot_be_encoded():
    with pytest.raises(TokenError, match="too long"):
        encode(Token(Kind.CLICK, COPY, "https://example.com/" + "x" * MAX_TOKEN_CHARS), KEYRING)


@pytest.mark.parametrize(
    ("kind", "copy_id", "target"),
    [
        (Kind.OPEN, "0123456789ABCDEF", None),
        (Kind.OPEN, "0123", None),
        (Kind.OPEN, COPY, "https://example.com/"),
        (Kind.CLICK, COPY, None),
        (Kind.BANNER, COPY, ""),
    ],
)
def test_malformed_tokens_cannot_be_built(kind: Kind, copy_id: str, target: str | None):
    with pytest.raises(TokenError):
        Token(kind, copy_id, target)


def test_copy_ids_are_16_lowercase_hex_and_distinct():
    ids = {new_copy_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 16 and set(i) <= set("0123456789abcdef") for i in ids)


def test_token_url_puts_the_kind_in_the_path():
    token = Token(Kind.OPEN, COPY)
    assert token_url("https://t.example", token, KEYRING) == (
        f"https://t.example/o/{encode(token, KEYRING)}"
    )


def test_keyring_repr_shows_key_ids_but_never_secrets():
    shown = repr(KEYRING)
    assert "b2" in shown and "new-secret" not in shown and "old-secret" not in shown


def test_keyring_refuses_short_secrets_and_unknown_signing_key():
    with pytest.raises(TokenError, match="16"):
        Keyring({"a": b"short"}, current="a")
    with pytest.raises(TokenError, match="not in the keyring"):
        Keyring({"a": b"x" * 16}, current="b")


# --- load_keyring ---------------------------------------------------------------


def test_keys_from_the_environment_first_one_signs(tmp_path: Path):
    env = {"SIGRELAY_TOKEN_KEYS": f"new:{_b64(b'n' * 20)}, old:{_b64(b'o' * 20)}"}
    keyring = load_keyring(tmp_path, env)
    assert keyring.current == "new"
    assert dict(keyring.keys) == {"new": b"n" * 20, "old": b"o" * 20}
    assert not (tmp_path / KEYS_FILE_NAME).exists()


def test_keys_from_a_named_file_one_per_line_with_comments(tmp_path: Path):
    keys_file = tmp_path / "keys"
    keys_file.write_text(f"# rotated in May\nk2:{_b64(b'2' * 32)}\n\nk1:{_b64(b'1' * 32)}\n")
    keyring = load_keyring(tmp_path, {"SIGRELAY_TOKEN_KEYS_FILE": str(keys_file)})
    assert (keyring.current, sorted(keyring.keys)) == ("k2", ["k1", "k2"])


def test_without_configured_keys_a_private_key_file_is_created_once(tmp_path: Path):
    first = load_keyring(tmp_path / "data", {})
    path = tmp_path / "data" / KEYS_FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_keyring(tmp_path / "data", {}) == first
    assert len(first.keys[first.current]) == 32


def test_two_data_dirs_get_different_generated_keys(tmp_path: Path):
    one, two = load_keyring(tmp_path / "one", {}), load_keyring(tmp_path / "two", {})
    assert one.keys[one.current] != two.keys[two.current]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("k1", "not id:base64secret"),
        ("k1:%%%notbase64", "not valid base64"),
        (f"K1:{_b64(b'x' * 20)}", "1 to 4 characters"),
        (f"k1:{_b64(b'short')}", "16"),
        (f"k1:{_b64(b'x' * 20)},k1:{_b64(b'y' * 20)}", "twice"),
        (" , ", "no keys"),
    ],
)
def test_bad_keys_are_refused_naming_the_source_but_never_the_secret(
    tmp_path: Path, value: str, reason: str
):
    with pytest.raises(TokenError, match=reason) as error:
        load_keyring(tmp_path, {"SIGRELAY_TOKEN_KEYS": value})
    assert "$SIGRELAY_TOKEN_KEYS" in str(error.value)
    assert _b64(b"x" * 20) not in str(error.value)


def test_a_missing_keys_file_is_an_error_naming_it(tmp_path: Path):
    with pytest.raises(TokenError, match="nowhere"):
        load_keyring(tmp_path, {"SIGRELAY_TOKEN_KEYS_FILE": str(tmp_path / "nowhere")})


@given(st.binary(min_size=16, max_size=200), st.sampled_from(list(Kind)), st.binary(max_size=300))
def test_the_tag_is_hmac_sha256_of_kind_key_id_and_body(secret: bytes, kind: Kind, body: bytes):
    # Tokens already sent out in mails must keep verifying: the precomputed
    # inner/outer states give exactly the standard HMAC (RFC 2104), long keys included.
    keyring = Keyring({"k9": secret}, current="k9")
    expected = hmac.new(secret, f"{kind.value}.k9.".encode() + body, hashlib.sha256).digest()
    assert keyring._macs["k9"][kind].tag(body) == expected[:12]


@given(tokens)
def test_copy_and_target_finds_what_decode_finds(token: Token):
    text = encode(token, KEYRING)
    if token.kind is Kind.OPTOUT:
        return
    assert copy_and_target(text, KEYRING, token.kind) == (token.copy_id, token.target)


@given(st.text(max_size=300))
def test_copy_and_target_refuses_garbage_without_raising(text: str):
    for kind in (Kind.OPEN, Kind.CLICK, Kind.BANNER):
        assert copy_and_target(text, KEYRING, kind) is None


@given(st.sampled_from([Kind.CLICK, Kind.BANNER]), st.text(min_size=1, max_size=300))
def test_unverified_link_is_the_target_a_token_carries(kind: Kind, target: str):
    text = encode(Token(kind, "00112233445566aa", target), KEYRING)
    assert unverified_link(text, KEYRING) == target.encode("utf-8")


@given(st.text(max_size=300))
def test_unverified_link_of_garbage_never_raises(text: str):
    link = unverified_link(text, KEYRING)
    assert link is None or isinstance(link, bytes)


def test_unverified_link_only_of_text_written_as_our_tokens_are():
    text = encode(Token(Kind.CLICK, "00112233445566aa", "https://example.com/"), KEYRING)
    key_id, _, encoded = text.partition(".")
    padded = f"{key_id}.{encoded[:10]}!!!!{encoded[10:]}"  # a lenient decoder skips the !s
    assert unverified_link(padded, KEYRING) is None
    assert unverified_link(f"zz.{encoded}", KEYRING) is None, "a key id we do not have"
    assert unverified_link("x" * 5000 + text, KEYRING) is None
