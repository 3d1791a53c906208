"""Copy ids derived from the message and the copy: planning again gives the same ids.

The delivery worker does not write a message's plan to disk before its first
copy goes out (one synced write less per message); the first state written is
the outcome of the first attempt. If the relay stops before that, the message
is planned again on the next start. Ids made from the queue id and what the
copy is (its privacy mode and its recipients) make the second plan name the
same copies with the same ids: the "sent" facts (idempotent on copy id) are not
counted twice, and a copy that was on the wire when the relay stopped carries
the same tokens as its repeat. A copy that is different the second time (a
recipient opted out in between) gets a different id.

Keyed (HMAC-SHA256 with the token signing key, under a label of its own):
a copy id is visible in every tracking URL and the queue id in the Received:
header, so an unkeyed hash would let anyone holding a copy test guesses of who
else (Bcc) received the message.
"""

from __future__ import annotations

import hashlib
import hmac

from tracker.tokens import COPY_ID_BYTES, UNTRACKED_COPY_ID, Keyring

_LABEL = b"sigrelay copy id\x00"


def copy_id_for(keyring: Keyring, queue_id: str, privacy: str, recipients: tuple[str, ...]) -> str:
    """16 hex digits, never the id reserved for untracked banners."""
    names = "\n".join(sorted(r.lower() for r in recipients))
    # surrogateescape: an address with bytes that are not UTF-8 (spooled by a
    # relay before such addresses were refused) is hashed as the bytes it was,
    # instead of crashing every attempt to plan its message (issue 14).
    text = f"{queue_id}\x00{privacy}\x00{names}".encode("utf-8", "surrogateescape")
    digest = hmac.new(keyring.keys[keyring.current], _LABEL + text, hashlib.sha256).digest()
    for start in range(0, len(digest), COPY_ID_BYTES):
        copy_id = digest[start : start + COPY_ID_BYTES].hex()
        if copy_id != UNTRACKED_COPY_ID:
            return copy_id
    raise AssertionError("unreachable: four 64-bit slices of one digest are all zero")
