"""The recipient key: how the opt-out and consent lists name a recipient
without holding the address.

It is the pseudonym of tracker/pseudonym.py (HMAC-SHA256 under the dedicated
pseudonym key, which never rotates) cut to 12 bytes, 24 hex characters: short
enough to ride in an opt-out token of <= 40 characters, long enough that two
recipients never share one (a collision needs ~2**48 addresses). Because it is
a prefix of the pseudonym, a copy row that `sigrelay forget` or retention
already pseudonymised still leads to the same key: the opt-out link keeps working.
"""

from __future__ import annotations

import re

from tracker.pseudonym import PREFIX, is_pseudonym, pseudonym
from tracker.tokens import RECIPIENT_BYTES

KEY_HEX_CHARS = RECIPIENT_BYTES * 2
_KEY = re.compile(f"[0-9a-f]{{{KEY_HEX_CHARS}}}")


def recipient_key(address: str, key: bytes) -> str:
    return pseudonym(address, key)[len(PREFIX) :][:KEY_HEX_CHARS]


def recipient_key_of_stored(value: str, key: bytes) -> str:
    """The key of what a copy row holds: an address, or its pseudonym."""
    if is_pseudonym(value):
        return value[len(PREFIX) :][:KEY_HEX_CHARS]
    return recipient_key(value, key)


def is_recipient_key(text: str) -> bool:
    return bool(_KEY.fullmatch(text))
