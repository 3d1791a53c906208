"""A/B tests: click rate per banner variant, with a confidence interval and a verdict.

The rate is unique clicks / unique impressions (the `ctr` of the stats). Each
variant's interval is the Wilson score interval (sound for small counts and
rates near 0, unlike the normal approximation). The verdict compares the best
variant with the runner-up by a two-sided two-proportion z-test with a pooled
standard error; below 95 % confidence it says so plainly rather than naming
a winner too early.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Protocol

Z_95 = 1.959963984540054  # two-sided 95 %
CONFIDENCE = 0.95
NOT_SIGNIFICANT = "not significant yet"


@dataclass(frozen=True)
class VariantResult:
    variant: str
    impressions: int  # unique: copies that showed the banner
    clicks: int  # unique: copies with a click
    ctr: float
    low: float  # Wilson interval at 95 %
    high: float


def wilson(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a proportion; (0, 0) without trials."""
    if trials <= 0:
        return 0.0, 0.0
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    spread = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - spread), min(1.0, centre + spread)


def two_proportion_p_value(c1: int, n1: int, c2: int, n2: int) -> float:
    """Two-sided p-value that the two rates are equal (pooled z-test); 1.0 if undefined."""
    if n1 <= 0 or n2 <= 0:
        return 1.0
    pooled = (c1 + c2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    z = (c1 / n1 - c2 / n2) / se
    return math.erfc(abs(z) / math.sqrt(2))


def variant_result(variant: str, unique_impressions: int, unique_clicks: int) -> VariantResult:
    ctr = unique_clicks / unique_impressions if unique_impressions else 0.0
    low, high = wilson(unique_clicks, unique_impressions)
    return VariantResult(variant, unique_impressions, unique_clicks, ctr, low, high)


def verdict(results: list[VariantResult]) -> tuple[str, float | None, str | None]:
    """(plain sentence, p-value, winner): the best variant against the runner-up."""
    ranked = sorted(results, key=lambda r: r.ctr, reverse=True)
    if len(ranked) < 2:
        return "only one variant: nothing to compare", None, None
    best, second = ranked[0], ranked[1]
    p = two_proportion_p_value(best.clicks, best.impressions, second.clicks, second.impressions)
    if best.ctr > second.ctr and p < 1 - CONFIDENCE:
        return f"{best.variant} beats {second.variant}, 95% confidence", p, best.variant
    return NOT_SIGNIFICANT, p, None


def ab_result(campaign: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The A/B panel from stats rows by variant (rows without a variant are left out)."""
    results = [
        variant_result(str(row["variant"]), row["unique_impressions"], row["unique_clicks"])
        for row in rows
        if row.get("variant") is not None
    ]
    sentence, p_value, winner = verdict(results)
    return {
        "campaign": campaign,
        "confidence": CONFIDENCE,
        "variants": [asdict(r) for r in results],
        "verdict": sentence,
        "winner": winner,
        "p_value": p_value,
    }


class _Stats(Protocol):
    async def stats(self, by: str | None = None, campaign: str | None = None) -> dict: ...


async def ab_test(store: _Stats, campaign: str) -> dict[str, Any]:
    """`{"campaign", "confidence", "variants": [{variant, impressions, clicks, ctr,
    low, high}], "verdict", "winner", "p_value"}` for the dashboard and the API."""
    stats = await store.stats(by="variant", campaign=campaign)
    return ab_result(campaign, stats["rows"])
