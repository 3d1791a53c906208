"""The opt-out link under the signature of a tracked copy (DESIGN.md: every
recipient may opt out), in the sender's group's language.

Added only to copies that go to exactly one external recipient: a link in a
copy shared by several would let each of them change the others' choice.
The link starts with the tracker's public URL, so the rewriter never turns
it into a click redirect (Plan.tracker_prefix).
"""

from __future__ import annotations

from dataclasses import replace
from html import escape
from types import MappingProxyType

from proxy.state import CopyState
from rewriter import Plan, Signature
from tracker.recipients import recipient_key
from tracker.tokens import UNTRACKED_COPY_ID, Keyring, Kind, Token, token_url

FOOTER_TEXTS = MappingProxyType(
    {
        "en": "Tracking options for our e-mails",
        "de": "Einstellungen zur Auswertung unserer E-Mails",
    }
)
DEFAULT_LANGUAGE = "en"
# Outlook (Word) gives a paragraph without its own font Times New Roman.
_STYLE = "font-family:Arial,Helvetica,sans-serif;font-size:11px;color:#888888"


def _with_link(signature: Signature, url: str, text: str) -> Signature:
    html = (
        f'<p style="{_STYLE};margin:8px 0 0 0">'
        f'<a href="{escape(url)}" style="{_STYLE}">{escape(text)}</a></p>'
    )
    return Signature(
        html=signature.html + html,
        text=signature.text.rstrip("\n") + f"\n{text}: {url}\n",
    )


def with_optout_link(plan: Plan, url: str, language: str) -> Plan:
    text = FOOTER_TEXTS.get(language, FOOTER_TEXTS[DEFAULT_LANGUAGE])
    signature, reply = plan.signature, plan.reply_signature
    return replace(
        plan,
        signature=_with_link(signature, url, text) if signature else None,
        reply_signature=_with_link(reply, url, text) if reply else None,
    )


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
