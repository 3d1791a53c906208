"""Keyed hashes of recipient addresses: how the store names someone it must not name.

`pseudonym(address, key)` is `pseud:` + HMAC-SHA256(key, normalised address),
hex, truncated to 128 bits. Without the key nobody can test a guessed address
against it; with the key the same address always gives the same pseudonym, so
a forgotten recipient's rows still count together (and the audit log can say
"this person was forgotten" without naming them).

The key is separate from the token signing keys on purpose: those rotate, and
a rotated pseudonym key would split one person's history in two.
`$SIGRELAY_PSEUDONYM_KEY` (base64), else the file named by
`$SIGRELAY_PSEUDONYM_KEY_FILE`, else `<data dir>/pseudonym-key`, created
(0600, 32 random bytes) on first use. Nodes sharing a store must share it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from pathlib import Path

from tracker.errors import TrackerError
from tracker.secretfile import create_secret_file

PREFIX = "pseud:"
HASH_HEX_CHARS = 32
KEY_ENV = "SIGRELAY_PSEUDONYM_KEY"
KEY_FILE_ENV = "SIGRELAY_PSEUDONYM_KEY_FILE"
KEY_FILE_NAME = "pseudonym-key"
MIN_KEY_BYTES = 16
# Changing the key re-keys every stored recipient: only for a new install or after `forget`.
_MAKE_ONE = " (make one with: head -c 32 /dev/urandom | base64)"


class PseudonymKeyError(TrackerError, ValueError):
    """The pseudonym key is missing, unreadable or too short."""


def normalise(address: str) -> str:
    """Addresses are compared case-insensitively, as the store's rows are written."""
    return address.strip().lower()


def pseudonym(address: str, key: bytes) -> str:
    digest = hmac.new(key, normalise(address).encode("utf-8"), hashlib.sha256).hexdigest()
    return PREFIX + digest[:HASH_HEX_CHARS]


def is_pseudonym(value: str | None) -> bool:
    return value is not None and value.startswith(PREFIX)


def load_pseudonym_key(data_dir: Path, env: Mapping[str, str]) -> bytes:
    if env.get(KEY_ENV):
        return _decode(env[KEY_ENV], f"${KEY_ENV}")
    if env.get(KEY_FILE_ENV):
        path = Path(env[KEY_FILE_ENV])
        try:
            return _decode(path.read_text("utf-8"), str(path))
        except OSError as exc:
            raise PseudonymKeyError(
                f"${KEY_FILE_ENV}={path}: {exc.strerror}; make the file readable, "
                f"or unset ${KEY_FILE_ENV} to use {KEY_FILE_NAME} in the data directory"
            ) from None
    path = data_dir / KEY_FILE_NAME
    if not path.exists():
        _create(path)
    return _decode(path.read_text("utf-8"), str(path))


def _decode(text: str, source: str) -> bytes:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("#")]
    try:
        key = base64.b64decode(lines[0] if lines else "", validate=True)
    except (binascii.Error, ValueError):
        reason = f"{source}: the pseudonym key is not valid base64{_MAKE_ONE}"
        raise PseudonymKeyError(reason) from None
    if len(key) < MIN_KEY_BYTES:
        raise PseudonymKeyError(
            f"{source}: the pseudonym key needs {MIN_KEY_BYTES}+ bytes{_MAKE_ONE}"
        )
    return key


def _create(path: Path) -> None:
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    header = "# sigrelay pseudonym key (base64); losing it splits pseudonyms\n"
    create_secret_file(path, f"{header}{key}\n")
