"""Which recipient rule of a group fits a recipient (`[[groups.recipient_rules]]`).

The matching is the campaigns' (config/campaigns.py `matches_recipient`):
internal/external scope, recipient domains with their subdomains, address
globs. The first rule that fits wins, so an admin writes the narrow rules first.
"""

from __future__ import annotations

from collections.abc import Callable

from config.campaigns import matches_recipient
from config.schema import GroupSection
from config.schema_recipients import RecipientAdds, RecipientRuleSection
from config.schema_variants import SignatureVariantSection

TEMPLATE_KEYS = ("signature_html", "signature_text", "reply_html", "reply_text")
DISCLAIMER_KEYS = ("disclaimer_html", "disclaimer_text")


def rule_index(group: GroupSection, address: str, is_internal: Callable[[str], bool]) -> int | None:
    """The position of the first rule of `group` that fits `address`, else None."""
    for index, rule in enumerate(group.recipient_rules):
        if matches_recipient(rule, address, is_internal):
            return index
    return None


def rule_for(
    group: GroupSection, address: str, is_internal: Callable[[str], bool]
) -> RecipientRuleSection | None:
    index = rule_index(group, address, is_internal)
    return None if index is None else group.recipient_rules[index]


def adds_nothing(rule: RecipientRuleSection | None) -> bool:
    return rule is not None and rule.add is RecipientAdds.NOTHING


def shows_banner(rule: RecipientRuleSection | None) -> bool:
    return rule is None or rule.add is RecipientAdds.SIGNATURE_AND_BANNER


def template_names(
    group: GroupSection,
    rule: RecipientRuleSection | None,
    variant: SignatureVariantSection | None = None,
) -> dict[str, str | None]:
    """The templates a recipient under `rule` gets: the rule's, else the active
    signature variant's (config/schema_variants.py), else the group's; the
    disclaimer only from the rule."""
    names: dict[str, str | None] = {
        key: next(
            (name for owner in (rule, variant, group) if (name := getattr(owner, key, None))), None
        )
        for key in TEMPLATE_KEYS
    }
    for key in DISCLAIMER_KEYS:
        names[key] = getattr(rule, key) if rule else None
    return names
