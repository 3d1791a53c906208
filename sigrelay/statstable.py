"""`sigrelay stats` for a terminal: an aligned table with unique counts and the
click rate that fits 100 columns, a legend, and people apart from machines in
words (DESIGN.md: "human figures first, machines apart"); `--wide` adds what
the landing pages reported and the people/machine columns. `--json` and
`--csv` are the machine-readable forms."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Column:
    title: str
    cell: Callable[[Row], str]
    numeric: bool = True
    wide: bool = False  # only with --wide: the table fits 100 columns without them


def _count(name: str) -> Callable[[Row], str]:
    return lambda row: f"{int(row.get(name) or 0):,}"


def _with_unique(name: str) -> Callable[[Row], str]:
    return lambda row: f"{int(row.get(name) or 0):,} ({int(row.get('unique_' + name) or 0):,})"


def _split(side: str, name: str) -> Callable[[Row], str]:
    return lambda row: f"{int((row.get(side) or {}).get(name) or 0):,}"


def _ctr(row: Row) -> str:
    """Unique clicks per unique impression; with no impression (banners not shown,
    images blocked) there is no rate to give: "—", not a 0.0% beside a click."""
    if not int(row.get("unique_impressions") or 0):
        return "—"
    return f"{float(row.get('ctr') or 0):.1%}"


COLUMNS = (
    Column("sent", _count("sent")),
    Column("impressions (unique)", _with_unique("impressions")),
    Column("opens (unique)", _with_unique("opens")),
    Column("clicks (unique)", _with_unique("clicks")),
    Column("CTR", _ctr),
    Column("opt-outs", _count("optouts")),
    # Reported by the landing page script (/t.js): page views, link clicks, downloads.
    Column("visits (unique)", _with_unique("visits"), wide=True),
    Column("link clicks (unique)", _with_unique("link_clicks"), wide=True),
    Column("downloads (unique)", _with_unique("downloads"), wide=True),
    Column("human opens", _split("human", "opens"), wide=True),
    Column("human clicks", _split("human", "clicks"), wide=True),
    Column("machine opens", _split("machine", "opens"), wide=True),
    Column("machine clicks", _split("machine", "clicks"), wide=True),
)

LEGEND = (
    "sent: tracked copies delivered (a copy per recipient, per domain or one, by privacy mode)",
    "impressions: banner images loaded; opens: tracking pixels loaded; clicks: tracked links",
    "  followed; (unique): copies with at least one. Counted for people only.",
    "CTR: unique clicks / unique impressions; — without impressions (images blocked).",
    "opt-outs: recipients who chose not to be tracked, from these copies.",
)
WIDE_LEGEND = (
    "visits, link clicks, downloads: reported by the landing pages' /t.js after a click.",
    "human/machine: what people and what machines (scanners, previews, prefetch) did.",
)


def legend(wide: bool = False) -> list[str]:
    return [*LEGEND, *(WIDE_LEGEND if wide else ())]


def render(result: Mapping[str, Any], by: str | None, wide: bool = False) -> str:
    """The rows (if grouped) and a TOTAL line under a rule, numbers right-aligned;
    the landing-page and people/machine columns with `wide` only."""
    columns = [c for c in COLUMNS if wide or not c.wide]
    if by:
        key = Column(by, lambda row: "—" if row.get(by) is None else str(row[by]), numeric=False)
        columns.insert(0, key)
    body = [[c.cell(row) for c in columns] for row in result["rows"]]
    total = [c.cell(result["totals"]) for c in columns]
    if by:
        total[0] = "TOTAL"
    widths = [
        max(len(c.title), *(len(r[i]) for r in [*body, total])) for i, c in enumerate(columns)
    ]

    def line(cells: list[str]) -> str:
        padded = (
            cell.rjust(width) if column.numeric else cell.ljust(width)
            for cell, width, column in zip(cells, widths, columns, strict=True)
        )
        return "  ".join(padded).rstrip()

    rule = "  ".join("─" * width for width in widths)
    lines = [line([c.title for c in columns]), rule, *(line(r) for r in body)]
    if body:
        lines.append(rule)
    lines.append(line(total))
    return "\n".join(lines)


def people_and_machines(totals: Row) -> list[str]:
    """Beside the table, in words: what people did and what machines did. A
    first test with `curl` (a script: a machine) then shows up here instead of
    leaving every figure at 0, as if nothing had been recorded."""
    people, machines = totals.get("human") or {}, totals.get("machine") or {}
    counts = [
        f"{kind} {int(people.get(kind) or 0):,} by people, "
        f"{int(machines.get(kind) or 0):,} by machines"
        for kind in ("opens", "clicks")
    ]
    note = (
        "machines (scanners, link checkers, previews, scripts, Apple's prefetch) are not "
        "counted in the table; mail providers' image proxies count as people's opens"
    )
    return ["; ".join(counts), *textwrap.wrap(note, 90)]
