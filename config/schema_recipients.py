"""`[languages]` and `[[groups.recipient_rules]]`: what a copy says, by recipient.

A group writes in its default `language` and in any further `languages` it
lists (templates `<name>.<lang>.<ext>` beside each template, config/languages.py
chooses one per recipient). Recipient rules give some recipients (internal or
external, by domain or address glob: the campaigns' targeting, matched by
config/campaigns.py) other templates, a disclaimer, or nothing at all.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal

from pydantic import Field, field_validator, model_validator

from config.schema_campaigns import RecipientScope
from config.schema_types import AddressGlob, Domain, FileName, Section

# The languages whose opt-out texts we ship (config/optout_footer.py, tracker/optout_texts.py).
Language = Literal["en", "de", "fr"]
LANGUAGES: tuple[str, ...] = ("en", "de", "fr")
_DOMAIN_KEY = re.compile(r"^\.?[a-z0-9-]+(\.[a-z0-9-]+)*$")


class LanguagesSection(Section):
    """How the language of a copy is chosen: recipient domain, newest text, group default."""

    # Recipient domain -> language, e.g. { ".de" = "de", "example.fr" = "fr" }; a key
    # starting with "." is a suffix (a country TLD); a domain covers its subdomains.
    recipient_domains: dict[str, Language] = Field(default_factory=dict)
    # Guess the language of the newest text (above the quote) when no domain decides.
    detect: bool = True

    @field_validator("recipient_domains")
    @classmethod
    def _domain_keys(cls, value: dict[str, str]) -> dict[str, str]:
        normalised = {key.strip().lower().rstrip("."): lang for key, lang in value.items()}
        bad = [key for key in normalised if not _DOMAIN_KEY.match(key)]
        if bad:
            raise ValueError(f"not a domain or .suffix: {', '.join(map(repr, bad))}")
        return normalised


class RecipientAdds(StrEnum):
    SIGNATURE_AND_BANNER = "signature_and_banner"  # what every recipient gets without rules
    SIGNATURE = "signature"  # no banner
    NOTHING = "nothing"  # the message as the sender wrote it: no signature, banner or tags


class RecipientRuleSection(Section):
    """Some recipients of the group's mail get other templates, a disclaimer, or nothing.
    The first rule that fits a recipient wins; recipients no rule fits get the group's."""

    # Whom it is for; the lists below narrow it (empty lists: everyone in scope).
    recipients: RecipientScope = RecipientScope.ALL
    recipient_domains: tuple[Domain, ...] = ()  # only recipients of these domains
    recipient_addresses: tuple[AddressGlob, ...] = ()  # or matching these globs
    # What they get: signature_and_banner, signature (no banner), or nothing at all.
    add: RecipientAdds = RecipientAdds.SIGNATURE_AND_BANNER
    signature_html: FileName | None = None  # instead of the group's, under templates/
    signature_text: FileName | None = None  # its plain-text part
    reply_html: FileName | None = None  # instead of the group's reply template
    reply_text: FileName | None = None  # its plain-text part
    disclaimer_html: FileName | None = None  # added under the signature, e.g. a legal notice
    disclaimer_text: FileName | None = None  # its plain-text part (both or neither)

    @model_validator(mode="after")
    def _disclaimer_in_both_parts(self) -> RecipientRuleSection:
        if (self.disclaimer_html is None) != (self.disclaimer_text is None):
            raise ValueError("a disclaimer needs both disclaimer_html and disclaimer_text")
        return self


__all__ = ["LANGUAGES", "Language", "LanguagesSection", "RecipientAdds", "RecipientRuleSection"]
