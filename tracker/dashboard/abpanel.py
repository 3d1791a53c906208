"""The A/B panel of a campaign page: which variants, their configured weights
and shares, how many copies and recipients each actually got, and their click
rates with the verdict (tracker/store/abtest.py).

Variants are listed in the configuration's order; a variant that got copies
but is no longer configured follows, without a weight.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tracker.dashboard.reads import VariantCopies


@dataclass(frozen=True)
class VariantRow:
    variant: str
    weight: int | None  # None: not configured (any more)
    planned: float | None  # weight / all weights
    copies: int
    recipients: int
    assigned: float  # share of the campaign's recipients that got this variant
    impressions: int  # unique, as in the verdict
    clicks: int
    ctr: float
    low: float
    high: float


def variant_rows(
    weights: Mapping[str, int], assigned: Sequence[VariantCopies], ab: Mapping[str, Any]
) -> list[VariantRow]:
    """One row per variant: configured ones first, in order."""
    got = {row.variant: row for row in assigned if row.variant is not None}
    rates = {result["variant"]: result for result in ab["variants"]}
    names = list(weights) + sorted((set(got) | set(rates)) - set(weights))
    total_weight = sum(weights.values())
    total_recipients = sum(row.recipients for row in got.values())
    rows = []
    for name in names:
        weight = weights.get(name)
        copies = got.get(name, VariantCopies(name, 0, 0))
        rate = rates.get(name, {"impressions": 0, "clicks": 0, "ctr": 0.0, "low": 0.0, "high": 0.0})
        rows.append(
            VariantRow(
                variant=name,
                weight=weight,
                planned=weight / total_weight if weight is not None and total_weight else None,
                copies=copies.copies,
                recipients=copies.recipients,
                assigned=copies.recipients / total_recipients if total_recipients else 0.0,
                impressions=rate["impressions"],
                clicks=rate["clicks"],
                ctr=rate["ctr"],
                low=rate["low"],
                high=rate["high"],
            )
        )
    return rows
