"""The opt-out link of one copy (DESIGN.md: every recipient may opt out).

Only a tracked copy to exactly one recipient gets one: a link in a copy shared
by several would let each of them change the others' choice. The text under
the signature is config's (config/optout_footer.py); the token is made here.
"""

from __future__ import annotations

from proxy.state import CopyState
from tracker.recipients import recipient_key
from tracker.tokens import UNTRACKED_COPY_ID, Keyring, Kind, Token, token_url


def optout_url(
    copy: CopyState, keyring: Keyring, public_url: str, pseudonym_key: bytes
) -> str | None:
    """The opt-out link of a tracked copy to one recipient, else None.

    A personal copy's token names the copy (its store row names the recipient);
    a domain or anonymous copy's row names nobody, so its token carries the
    recipient's keyed hash instead: either way it opts out no one else."""
    if not copy.tracked or len(copy.recipients) != 1:
        return None
    if copy.recipient is not None:
        token = Token(Kind.OPTOUT, copy.copy_id)
    else:
        key = recipient_key(copy.recipients[0], pseudonym_key)
        token = Token(Kind.OPTOUT, UNTRACKED_COPY_ID, recipient=key)
    return token_url(public_url, token, keyring)
