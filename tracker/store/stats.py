"""The stats shape of the contract (docs/internals.md), built from the aggregate queries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Every count a row (or the totals) carries besides "sent", in output order:
# people's impressions, opens and clicks, opt-outs, and what the landing page
# script reported (page visits, link clicks on the page, document downloads).
EVENT_COUNTS = (
    "impressions",
    "unique_impressions",
    "opens",
    "unique_opens",
    "clicks",
    "unique_clicks",
    "optouts",
    "visits",
    "unique_visits",
    "link_clicks",
    "unique_link_clicks",
    "downloads",
    "unique_downloads",
)
_MACHINE = ("machine_opens", "machine_clicks")


_NUMBERS = (*EVENT_COUNTS, *_MACHINE)
_SUMMED = ("sent", *_NUMBERS)


def figures(sent: int, counts: Mapping[str, Any] | None) -> dict[str, Any]:
    """One row (or the totals): sent, the event counts, ctr and the human/machine
    splits. `counts` carries EVENT_COUNTS and machine_opens/machine_clicks."""
    get = counts.get if counts else {}.get
    number = {name: int(get(name) or 0) for name in _NUMBERS}
    unique_impressions = number["unique_impressions"]
    ctr = number["unique_clicks"] / unique_impressions if unique_impressions else 0.0
    row = {"sent": int(sent or 0)}
    row.update(number)
    # A proxy fetch is a person opening through their provider: `opens` are human.
    human = {"opens": number["opens"], "clicks": number["clicks"]}
    machine = {"opens": row.pop("machine_opens"), "clicks": row.pop("machine_clicks")}
    row.update(ctr=ctr, human=human, machine=machine)
    return row


def rows(
    by: str, sent: Mapping[Any, int], counts: Mapping[Any, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """One row per key seen in either query, ordered by key (no key last)."""
    keys = sorted(set(sent) | set(counts), key=lambda k: (k is None, str(k)))
    return [{by: key, **figures(sent.get(key, 0), counts.get(key))} for key in keys]


def from_rows(by: str, per_key: Mapping[Any, Mapping[str, Any]]) -> dict[str, Any]:
    """Totals and rows from per-key figures that add up (each copy in one row)."""
    summed = {name: sum(int(row.get(name) or 0) for row in per_key.values()) for name in _SUMMED}
    return {
        "totals": figures(summed["sent"], summed),
        "rows": rows(by, {k: v.get("sent") or 0 for k, v in per_key.items()}, per_key),
    }
