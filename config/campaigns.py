"""Choosing the campaign for a copy and the banner variant for a recipient.

Both are pure functions of the configuration and their arguments: the clock
is a parameter and the variant comes from a hash, so the same recipient sees
the same variant in every message of a campaign (A/B tests stay clean) and
every relay node chooses alike.

The order of choice: among the scheduled campaigns active now that target the
sender's group and every recipient of the copy, the highest priority wins
(ties: the one listed first). A follow-up campaign (`follow_up_of = "x"`) is
only a candidate for a recipient known to have clicked campaign x, which the
caller knows in personal mode only. Likewise a campaign with `target_topics`
is only a candidate for a recipient whose interest profile holds one of them,
which the caller knows in personal mode with recorded consent only. When no
scheduled campaign fits, the first fitting fallback campaign runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Protocol, TypeVar

from config.schema import CampaignSection, RecipientScope, VariantSection


@dataclass(frozen=True)
class Audience:
    """Who one copy goes to, as far as campaign targeting may look at it.

    `clicked` holds the campaigns the (single, personal-mode) recipient clicked
    before; it stays empty in every other mode, so behaviour never targets
    anyone whose address the store does not keep. `topics` holds the topics of
    that recipient's interest profile, which exists only with their consent."""

    recipients: tuple[str, ...] = ()
    clicked: frozenset[str] = frozenset()
    topics: frozenset[str] = frozenset()


def _domain(address: str) -> str:
    return address.rpartition("@")[2].lower().rstrip(".")


class RecipientTargeting(Protocol):
    """Whom something is for: campaigns and recipient rules (config/recipient_rules.py)."""

    @property
    def recipients(self) -> RecipientScope: ...
    @property
    def recipient_domains(self) -> tuple[str, ...]: ...
    @property
    def recipient_addresses(self) -> tuple[str, ...]: ...


def matches_recipient(
    campaign: RecipientTargeting, address: str, is_internal: Callable[[str], bool]
) -> bool:
    """True if one recipient is within the scope, domains and globs of `campaign`."""
    if campaign.recipients is RecipientScope.INTERNAL and not is_internal(address):
        return False
    if campaign.recipients is RecipientScope.EXTERNAL and is_internal(address):
        return False
    if not campaign.recipient_domains and not campaign.recipient_addresses:
        return True
    domain = _domain(address)
    in_domains = any(domain == d or domain.endswith("." + d) for d in campaign.recipient_domains)
    in_addresses = any(fnmatchcase(address.lower(), g) for g in campaign.recipient_addresses)
    return in_domains or in_addresses


def targets(
    campaign: CampaignSection, audience: Audience, is_internal: Callable[[str], bool]
) -> bool:
    """True if the campaign may be shown to every recipient of the copy."""
    if campaign.follow_up_of is not None and campaign.follow_up_of not in audience.clicked:
        return False
    if campaign.target_topics and audience.topics.isdisjoint(campaign.target_topics):
        return False
    return all(matches_recipient(campaign, r, is_internal) for r in audience.recipients)


def campaign_for(
    campaigns: Sequence[CampaignSection],
    group_name: str,
    now: datetime,
    audience: Audience | None = None,
    is_internal: Callable[[str], bool] = lambda _address: False,
) -> CampaignSection | None:
    """The campaign for a copy (see the module docstring for the order).
    Without an audience, recipient targeting is not applied (preview, stats)."""
    if now.tzinfo is None:
        raise ValueError("campaign_for needs a timezone-aware time")
    fitting = [
        c
        for c in campaigns
        if group_name in c.groups
        and c.active(now)
        and (audience is None or targets(c, audience, is_internal))
    ]
    chosen = scheduled_winner([c for c in fitting if not c.fallback], group_name, now)
    return chosen or next((c for c in fitting if c.fallback), None)


class Scheduled(Protocol):
    groups: tuple[str, ...]
    priority: int

    def active(self, now: datetime) -> bool: ...


S = TypeVar("S", bound=Scheduled)


def scheduled_winner(items: Sequence[S], group_name: str, now: datetime) -> S | None:
    """Among the items for the group active at `now`, the highest priority;
    equal priorities: the one listed first. Campaigns and signature variants."""
    active = [item for item in items if group_name in item.groups and item.active(now)]
    # max() keeps the first of equal keys, which gives "listed first wins".
    return max(active, key=lambda item: item.priority, default=None)


def follow_up_sources(campaigns: Collection[CampaignSection]) -> frozenset[str]:
    """The campaigns whose clickers some follow-up campaign targets."""
    return frozenset(c.follow_up_of for c in campaigns if c.follow_up_of is not None)


def targeted_topics(campaigns: Collection[CampaignSection]) -> frozenset[str]:
    """The topics some campaign targets: the only profiles the relay needs to know."""
    return frozenset(topic for c in campaigns for topic in c.target_topics)


def variant_for(campaign: CampaignSection, recipient_key: str) -> VariantSection:
    """Deterministic weighted choice: hash(campaign id, key) picks a point in
    the total weight; each variant owns a stretch as long as its weight."""
    digest = hashlib.sha256(f"{campaign.id}\0{recipient_key.lower()}".encode()).digest()
    total = sum(v.weight for v in campaign.variants)
    point = int.from_bytes(digest[:8], "big") % total
    for variant in campaign.variants:
        if point < variant.weight:
            return variant
        point -= variant.weight
    raise AssertionError("unreachable: point < total weight")  # pragma: no cover
