"""The A/B panel: click rate per banner variant, its 95% interval, and a verdict.

CTR = unique clicks / unique impressions (docs/internals.md). The interval is
Wilson's score interval, which stays inside [0, 1] and behaves with few
impressions, unlike the normal approximation. The verdict compares the best
variant with the runner-up by a two-sided two-proportion z-test (pooled);
"not significant yet" until p < 0.05.

Used until the shared `ab_test` in tracker/store/stats.py lands (issue 7A).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Z_95 = 1.959963984540054


@dataclass(frozen=True)
class VariantRate:
    variant: str
    impressions: int  # unique
    clicks: int  # unique
    ctr: float
    low: float
    high: float


@dataclass(frozen=True)
class AbResult:
    variants: tuple[VariantRate, ...]
    verdict: str
    significant: bool


def wilson(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    if trials <= 0:
        return 0.0, 0.0
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def two_proportion_p(c1: int, n1: int, c2: int, n2: int) -> float:
    """Two-sided p-value that two click rates differ (pooled z-test)."""
    if n1 <= 0 or n2 <= 0:
        return 1.0
    pooled = (c1 + c2) / (n1 + n2)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if spread == 0:
        return 1.0
    z = abs(c1 / n1 - c2 / n2) / spread
    return math.erfc(z / math.sqrt(2))


def ab_panel(rows: Sequence[Mapping[str, Any]]) -> AbResult:
    """From `stats(by="variant")` rows: rates per variant and the verdict."""
    rates = []
    for row in rows:
        if row.get("variant") is None:
            continue
        shown, clicked = int(row["unique_impressions"]), int(row["unique_clicks"])
        low, high = wilson(clicked, shown)
        ctr = clicked / shown if shown else 0.0
        rates.append(VariantRate(str(row["variant"]), shown, clicked, ctr, low, high))
    if len(rates) < 2:
        return AbResult(tuple(rates), "only one variant: nothing to compare", False)
    best, second = sorted(rates, key=lambda r: r.ctr, reverse=True)[:2]
    p = two_proportion_p(best.clicks, best.impressions, second.clicks, second.impressions)
    if p < 0.05 and best.ctr > second.ctr:
        return AbResult(
            tuple(rates), f"{best.variant} beats {second.variant}, 95% confidence", True
        )
    return AbResult(tuple(rates), "not significant yet", False)
