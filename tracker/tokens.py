"""Signed tracking tokens: which copy (and which link) a tracker URL belongs to.

A token is `<key id>.<base64url(body + tag)>`:

- body: the copy id as 8 raw bytes, then (CLICK, BANNER) the target as UTF-8;
  or (OPTOUT for a copy that names nobody in the store) the 12-byte keyed hash
  of its one recipient (tracker/recipients.py) instead of the copy id;
- tag: HMAC-SHA256 over kind, key id and body, truncated to 12 bytes (96 bits:
  a forger needs ~2**95 requests per guess; the tag is never reused as a key).

The kind is signed but not written: the URL path (`/o/`, `/c/` ...) says it, so
a pixel token cannot be replayed as an opt-out token and OPEN/OPTOUT tokens
stay short (31 characters with a 1-char key id; 36 for an OPTOUT token that
carries a recipient hash; at most 40 with a 4-char key id). A CLICK token carries its
target, so the redirect needs no store (DESIGN.md: links never break because
of us). Rotation: the keyring's current key signs, every key in it verifies.

Pure: no HTTP, no store, no clock. Only `load_keyring` touches the disk.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType

from tracker.errors import TrackerError
from tracker.secretfile import create_secret_file

log = logging.getLogger("sigrelay.tracker.tokens")

COPY_ID_BYTES = 8
RECIPIENT_BYTES = 12  # a truncated keyed hash of the recipient's address
TAG_BYTES = 12
MIN_SECRET_BYTES = 16
# aiohttp refuses request lines over 8190 bytes; a token must fit in one with room to spare.
MAX_TOKEN_CHARS = 8000
# OPEN and OPTOUT tokens (no target): the longest a valid one can be.
MAX_SHORT_TOKEN_CHARS = 40
KEYS_ENV = "SIGRELAY_TOKEN_KEYS"
KEYS_FILE_ENV = "SIGRELAY_TOKEN_KEYS_FILE"
KEYS_FILE_NAME = "token-keys"

_KEY_ID = re.compile(r"[a-z0-9]{1,4}")
_COPY_ID = re.compile(r"[0-9a-f]{16}")
_RECIPIENT = re.compile(r"[0-9a-f]{24}")


class Kind(StrEnum):
    OPEN = "o"
    BANNER = "b"
    CLICK = "c"
    OPTOUT = "u"


_KINDS_WITH_TARGET = frozenset({Kind.CLICK, Kind.BANNER})

UNTRACKED_COPY_ID = "00" * COPY_ID_BYTES
"""The copy id of banner tokens in untracked copies (internal, opted out, mode
off): the tracker serves the image and records nothing for it."""


VISIT_PARAMETER = "sr_vid"
"""The query parameter the click redirect adds to landing-page links: a signed
visit id naming the copy (tracker/landing.py). Here, beside the tokens, so the
relay can strip it from quoted links without importing the HTTP side."""


class TokenError(TrackerError, ValueError):
    """A token or keyring that cannot be built as asked (a programming or admin error)."""


@dataclass(frozen=True)
class Token:
    kind: Kind
    copy_id: str  # 16 lowercase hex chars (8 random bytes), identifies a copy
    target: str | None = None  # CLICK: the original URL; BANNER: "campaign/variant"
    # OPTOUT only, for copies whose store row names nobody (domain, anonymous):
    # the recipient's keyed hash (24 hex chars); copy_id is then UNTRACKED_COPY_ID.
    recipient: str | None = None

    def __post_init__(self) -> None:
        if not _COPY_ID.fullmatch(self.copy_id):
            raise TokenError(f"copy id must be 16 lowercase hex characters, got {self.copy_id!r}")
        if self.recipient is not None:
            if self.kind is not Kind.OPTOUT or self.copy_id != UNTRACKED_COPY_ID:
                raise TokenError("only an OPTOUT token without a copy carries a recipient")
            if not _RECIPIENT.fullmatch(self.recipient):
                raise TokenError("a recipient hash is 24 lowercase hex characters")
        if (self.kind in _KINDS_WITH_TARGET) != bool(self.target):
            need = "needs a target" if self.kind in _KINDS_WITH_TARGET else "takes no target"
            raise TokenError(f"a {self.kind.name} token {need}")


@dataclass(frozen=True)
class Keyring:
    keys: Mapping[str, bytes] = field(repr=False)  # key id -> secret; never in logs
    current: str  # the id that signs; all ids verify (rotation)
    # key id -> kind -> HMAC-SHA256 already fed with the key and "<kind>.<key id>."
    # (every tracker request checks a token, so that part is done once).
    _macs: Mapping[str, Mapping[Kind, _KeyedMac]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        for key_id, secret in self.keys.items():
            if not _KEY_ID.fullmatch(key_id):
                raise TokenError(f"key id {key_id!r}: use 1 to 4 characters a-z, 0-9")
            if len(secret) < MIN_SECRET_BYTES:
                raise TokenError(f"key {key_id!r}: the secret needs {MIN_SECRET_BYTES}+ bytes")
        if self.current not in self.keys:
            raise TokenError(f"the signing key {self.current!r} is not in the keyring")
        object.__setattr__(self, "keys", MappingProxyType(dict(self.keys)))
        macs = {
            key_id: {kind: _keyed_mac(secret, kind, key_id) for kind in Kind}
            for key_id, secret in self.keys.items()
        }
        object.__setattr__(self, "_macs", MappingProxyType(macs))

    def __repr__(self) -> str:
        return f"Keyring(ids={sorted(self.keys)}, current={self.current!r})"

    def __reduce__(self) -> tuple[type[Keyring], tuple[dict[str, bytes], str]]:
        # Pickled for the event writer's process (tracker/events/reading.py): the keys
        # only, the prepared MACs are built again on the other side.
        return (Keyring, (dict(self.keys), self.current))


class _KeyedMac:
    """HMAC-SHA256 (RFC 2104) with the key and a message prefix already hashed:
    the inner and outer SHA-256 states, copied per message. Two hash copies
    cost half of what `hmac.HMAC.copy()` does (its Python wrapper object), and
    a token is checked on every tracker request."""

    __slots__ = ("inner", "outer")

    def __init__(self, secret: bytes, prefix: bytes) -> None:
        block = hashlib.sha256().block_size
        key = hashlib.sha256(secret).digest() if len(secret) > block else secret
        key = key.ljust(block, b"\0")
        self.inner = hashlib.sha256(bytes(b ^ 0x36 for b in key) + prefix)
        self.outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def tag(self, body: bytes) -> bytes:
        """HMAC-SHA256(secret, "<kind>.<key id>." + body), truncated to a token's tag."""
        inner = self.inner.copy()
        inner.update(body)
        outer = self.outer.copy()
        outer.update(inner.digest())
        return outer.digest()[:TAG_BYTES]


def _keyed_mac(secret: bytes, kind: Kind, key_id: str) -> _KeyedMac:
    # The kind and key id are signed too: a token is only valid where it was issued.
    return _KeyedMac(secret, f"{kind.value}.{key_id}.".encode())


_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")
_PADDING = (b"", b"===", b"==", b"=")  # by the unpadded length modulo 4
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _b64encode_bytes(raw: bytes) -> bytes:
    return binascii.b2a_base64(raw, newline=False).translate(_TO_URLSAFE).rstrip(b"=")


def _b64encode(raw: bytes) -> str:
    return _b64encode_bytes(raw).decode("ascii")


def encode(token: Token, keyring: Keyring) -> str:
    """URL-safe text, no padding. Raises TokenError if the target makes it too long."""
    if token.recipient is not None:
        body = bytes.fromhex(token.recipient)
    else:
        body = bytes.fromhex(token.copy_id) + (token.target or "").encode("utf-8")
    key_id = keyring.current
    text = f"{key_id}.{_b64encode(body + keyring._macs[key_id][token.kind].tag(body))}"
    if len(text) > MAX_TOKEN_CHARS:
        raise TokenError(f"token of {len(text)} chars is over {MAX_TOKEN_CHARS} (target too long)")
    return text


def decode(text: str, keyring: Keyring, kind: Kind) -> Token | None:
    """The token, or None for anything forged, altered, truncated, of another
    kind, signed by an unknown key, or not a token at all. Never raises."""
    try:
        return _decode(text, keyring, kind)
    except Exception:  # defensive: a request must never turn a bad token into a 500
        return None


def _decode(text: str, keyring: Keyring, kind: Kind) -> Token | None:
    if kind is Kind.OPTOUT:
        body = _signed_body(text, keyring, kind)
        if body is None:
            return None
        if len(body) == RECIPIENT_BYTES:
            return Token(kind, UNTRACKED_COPY_ID, recipient=body.hex())
        return Token(kind, body.hex()) if len(body) == COPY_ID_BYTES else None
    fields = copy_and_target(text, keyring, kind)
    # Signed by us, so built by encode() from a valid Token: no need to validate again.
    return None if fields is None else _signed_token(kind, *fields)


def copy_and_target(text: str, keyring: Keyring, kind: Kind) -> tuple[str, str | None] | None:
    """What `decode` finds in an OPEN, BANNER or CLICK token, without building the
    Token: (copy id, target) or None. The tracker's click handler calls this on
    every request (and the writer's process on every hit). Never raises."""
    try:
        body = _signed_body(text, keyring, kind)
        if body is None:
            return None
        has_target = len(body) > COPY_ID_BYTES
        if has_target != (kind in _KINDS_WITH_TARGET):
            return None
        target = body[COPY_ID_BYTES:].decode("utf-8") if has_target else None
        return body[:COPY_ID_BYTES].hex(), target
    except Exception:  # not UTF-8, not ASCII; defensive as decode() for anything else
        return None


def unverified_link(text: str, keyring: Keyring) -> bytes | None:
    """The target a CLICK token's text carries, as UTF-8, WITHOUT checking its
    signature: only for looking up links whose tokens were checked before (the
    tracker's click handler, tracker/app.py). None unless the text is written
    as ours are (a key id of the keyring, then base64url and nothing else), so
    it is no longer than a genuine token of its link. Never raises."""
    key_id, _, encoded_text = text.partition(".")
    if key_id not in keyring._macs:
        return None
    try:
        raw = _token_bytes(encoded_text)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        return None
    return raw[COPY_ID_BYTES:-TAG_BYTES] if len(raw) > COPY_ID_BYTES + TAG_BYTES else None


def _token_bytes(encoded_text: str) -> bytes:
    """A token's bytes (body + tag), from its text after the key id. Raises
    UnicodeEncodeError (not ASCII), binascii.Error or ValueError (anything but
    base64url: the decoder would skip other characters)."""
    encoded = encoded_text.encode("ascii")
    padded = encoded.translate(_FROM_URLSAFE) + _PADDING[len(encoded) & 3]
    return binascii.a2b_base64(padded, strict_mode=True)


def _signed_body(text: str, keyring: Keyring, kind: Kind) -> bytes | None:
    """The body of a token signed for `kind` by a key of the keyring, or None."""
    # Runs for every tracker request (most in the writer process, where hits are
    # read: tracker/events/reading.py): the cheap refusals first, then one HMAC.
    if not isinstance(text, str) or len(text) > MAX_TOKEN_CHARS:
        return None
    key_id, dot, encoded_text = text.partition(".")
    macs = keyring._macs.get(key_id)
    if not dot or macs is None:
        return None
    try:
        raw = _token_bytes(encoded_text)
    except (binascii.Error, ValueError):  # UnicodeEncodeError is a ValueError
        return None
    if len(raw) < COPY_ID_BYTES + TAG_BYTES:
        return None
    body = raw[:-TAG_BYTES]
    # _KeyedMac.tag, written out: on the tracker's busy request loop each Python
    # call costs about a microsecond (bench/tracker.py). Every token encode()
    # makes must verify here (tests/tracker/test_tokens.py).
    mac = macs[kind]
    inner = mac.inner.copy()
    inner.update(body)
    outer = mac.outer.copy()
    outer.update(inner.digest())
    if not hmac.compare_digest(raw[-TAG_BYTES:], outer.digest()[:TAG_BYTES]):
        return None
    # Only the canonical spelling is accepted, so that altering any character
    # fails: the last character may carry unused bits.
    if _b64encode_bytes(raw) != encoded_text.encode("ascii"):
        return None
    return body


def _signed_token(kind: Kind, copy_id: str, target: str | None) -> Token:
    token = object.__new__(Token)
    object.__setattr__(token, "kind", kind)
    object.__setattr__(token, "copy_id", copy_id)
    object.__setattr__(token, "target", target)
    object.__setattr__(token, "recipient", None)
    return token


def new_copy_id() -> str:
    copy_id = secrets.token_hex(COPY_ID_BYTES)
    return copy_id if copy_id != UNTRACKED_COPY_ID else new_copy_id()


def token_url(public_url: str, token: Token, keyring: Keyring) -> str:
    return f"{public_url}/{token.kind.value}/{encode(token, keyring)}"


# --- loading keys -----------------------------------------------------------


def parse_keys(text: str, source: str) -> Keyring:
    """`id:base64secret` entries, separated by commas or lines; the first signs.
    Blank lines and `#` comments are ignored. Errors name the source, never a secret."""
    entries = [
        item.strip()
        for line in text.splitlines()
        if not line.lstrip().startswith("#")
        for item in line.split(",")
        if item.strip()
    ]
    if not entries:
        raise TokenError(f"{source}: no keys (expected id:base64secret)")
    keys: dict[str, bytes] = {}
    for number, entry in enumerate(entries, 1):
        key_id, colon, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not colon:
            raise TokenError(f"{source}: entry {number} is not id:base64secret")
        if key_id in keys:
            raise TokenError(f"{source}: key id {key_id!r} appears twice")
        keys[key_id] = _secret(encoded.strip(), f"{source}: key {key_id!r}")
    try:
        return Keyring(keys, current=next(iter(keys)))
    except TokenError as exc:
        raise TokenError(f"{source}: {exc}") from None


def _secret(encoded: str, where: str) -> bytes:
    # Accept standard and URL-safe base64, with or without padding.
    normal = encoded.replace("-", "+").replace("_", "/").rstrip("=")
    try:
        return base64.b64decode(normal + "=" * (-len(normal) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise TokenError(f"{where}: the secret is not valid base64") from None


def load_keyring(data_dir: Path, env: Mapping[str, str]) -> Keyring:
    """$SIGRELAY_TOKEN_KEYS, else the file named by $SIGRELAY_TOKEN_KEYS_FILE,
    else `data_dir/token-keys`, created (0600, one random key) on first use.
    Several nodes must share one keyring: set the variable or the file on each."""
    if env.get(KEYS_ENV):
        return parse_keys(env[KEYS_ENV], f"${KEYS_ENV}")
    if env.get(KEYS_FILE_ENV):
        path = Path(env[KEYS_FILE_ENV])
        try:
            text = path.read_text("utf-8")
        except OSError as exc:
            raise TokenError(
                f"${KEYS_FILE_ENV}={path}: {exc.strerror}; make the file readable, "
                f"or unset ${KEYS_FILE_ENV} to use {KEYS_FILE_NAME} in the data directory"
            ) from None
        return parse_keys(text, str(path))
    path = data_dir / KEYS_FILE_NAME
    if not path.exists():
        _create_keys_file(path)
    if path.stat().st_mode & 0o077:
        log.warning("token keys file %s is readable by others: chmod 600 it", path)
    return parse_keys(path.read_text("utf-8"), str(path))


def _create_keys_file(path: Path) -> None:
    line = f"k1:{base64.b64encode(secrets.token_bytes(32)).decode()}\n"
    header = "# sigrelay token signing keys: id:base64secret, the first signs\n"
    create_secret_file(path, header + line)
