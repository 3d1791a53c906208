"""The opt-out link under the signature of a tracked copy (DESIGN.md: every
recipient may opt out), in the copy's language (config/languages.py).

The proxy makes the link (proxy/optout_link.py: only for a tracked copy to
exactly one recipient) and passes it to `build_plan` (config/plans.py), which
puts it under both signatures. The link starts with the tracker's public URL,
so the rewriter never turns it into a click redirect (Plan.tracker_prefix).
"""

from __future__ import annotations

from html import escape
from types import MappingProxyType

from rewriter import Signature

FOOTER_TEXTS = MappingProxyType(
    {
        "en": "Tracking options for our e-mails",
        "de": "Einstellungen zur Auswertung unserer E-Mails",
        "fr": "Options de suivi de nos e-mails",
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


def with_optout_link(signature: Signature | None, url: str, language: str) -> Signature | None:
    """The signature with the opt-out link under it (None stays None)."""
    if signature is None:
        return None
    if language not in FOOTER_TEXTS:
        language = DEFAULT_LANGUAGE
    # The page speaks the line's language: the link names it (tracker/optout_texts.py).
    return _with_link(signature, f"{url}?lang={language}", FOOTER_TEXTS[language])
