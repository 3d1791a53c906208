"""The figures columns of every stats table on the dashboard, built in Python.

A campaign page may list thousands of rows (one per recipient domain); a
template macro escaping each number cost ~25 us a row. Every cell here is a
number we format ourselves (`int`, a percentage), never a string from the
store, so it is safe markup without escaping; the row's key (a domain, a
variant) stays in the template, where autoescaping covers it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from markupsafe import Markup

Figures = Mapping[str, Any]


def _count(name: str) -> Callable[[Figures], str]:
    return lambda f: str(int(f[name]))


def _with_unique(name: str) -> Callable[[Figures], str]:
    return lambda f: f"{int(f[name])} ({int(f['unique_' + name])})"


def _split(side: str, name: str) -> Callable[[Figures], str]:
    return lambda f: str(int(f[side][name]))


# (title, cell class, cell text) in table order.
COLUMNS: tuple[tuple[str, str, Callable[[Figures], str]], ...] = (
    ("Sent", "n", _count("sent")),
    ("Impressions", "n", _count("impressions")),
    ("Opens", "n", _count("opens")),
    ("Clicks", "n", _count("clicks")),
    ("Unique clicks", "n", _count("unique_clicks")),
    ("CTR", "n", lambda f: f"{float(f['ctr'] or 0):.1%}"),
    ("Opt-outs", "n", _count("optouts")),
    # Reported by the landing page script (/t.js).
    ("Visits (unique)", "n visits", _with_unique("visits")),
    ("Link clicks (unique)", "n link-clicks", _with_unique("link_clicks")),
    ("Downloads (unique)", "n downloads", _with_unique("downloads")),
    ("Machine opens", "n", _split("machine", "opens")),
    ("Machine clicks", "n", _split("machine", "clicks")),
)
TITLES = Markup("".join(f"<th>{title}</th>" for title, _, _ in COLUMNS))


def figure_cells(figures: Figures) -> Markup:
    """The `<td>`s of one row (or of the totals)."""
    return Markup("".join(f'<td class="{css}">{cell(figures)}</td>' for _, css, cell in COLUMNS))
