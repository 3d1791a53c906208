"""`sigrelay stats` for a terminal: an aligned table with unique counts, the
click rate, what the landing pages reported, and people apart from machines
(DESIGN.md: "human figures first, machines apart"). `--json` and `--csv` are
the machine-readable forms."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Column:
    title: str
    cell: Callable[[Row], str]
    numeric: bool = True


def _count(name: str) -> Callable[[Row], str]:
    return lambda row: f"{int(row.get(name) or 0):,}"


def _with_unique(name: str) -> Callable[[Row], str]:
    return lambda row: f"{int(row.get(name) or 0):,} ({int(row.get('unique_' + name) or 0):,})"


def _split(side: str, name: str) -> Callable[[Row], str]:
    return lambda row: f"{int((row.get(side) or {}).get(name) or 0):,}"


COLUMNS = (
    Column("sent", _count("sent")),
    Column("impressions (unique)", _with_unique("impressions")),
    Column("opens (unique)", _with_unique("opens")),
    Column("clicks (unique)", _with_unique("clicks")),
    Column("CTR", lambda row: f"{float(row.get('ctr') or 0):.1%}"),
    Column("opt-outs", _count("optouts")),
    # Reported by the landing page script (/t.js): page views, link clicks, downloads.
    Column("visits (unique)", _with_unique("visits")),
    Column("link clicks (unique)", _with_unique("link_clicks")),
    Column("downloads (unique)", _with_unique("downloads")),
    Column("human opens", _split("human", "opens")),
    Column("human clicks", _split("human", "clicks")),
    Column("machine opens", _split("machine", "opens")),
    Column("machine clicks", _split("machine", "clicks")),
)


def render(result: Mapping[str, Any], by: str | None) -> str:
    """The rows (if grouped) and a TOTAL line under a rule, numbers right-aligned."""
    columns = list(COLUMNS)
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
    return [
        "; ".join(counts),
        "machines (scanners, link checkers, previews, scripts, Apple's prefetch) are not "
        "counted in the table; mail providers' image proxies count as people's opens",
    ]
