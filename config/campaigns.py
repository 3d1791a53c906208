"""Choosing the campaign for a group and the banner variant for a recipient.

Both are pure functions of the configuration and their arguments: the clock
is a parameter and the variant comes from a hash, so the same recipient sees
the same variant in every message of a campaign (A/B tests stay clean) and
every relay node chooses alike.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from config.schema import CampaignSection, VariantSection


def campaign_for(
    campaigns: Sequence[CampaignSection], group_name: str, now: datetime
) -> CampaignSection | None:
    """The active campaign targeting the group with the highest priority;
    among equal priorities the one listed first in the TOML."""
    if now.tzinfo is None:
        raise ValueError("campaign_for needs a timezone-aware time")
    candidates = [c for c in campaigns if group_name in c.groups and c.active(now)]
    # max() keeps the first of equal keys, which gives "listed first wins".
    return max(candidates, key=lambda c: c.priority, default=None)


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
