"""The figures columns of every stats table on the dashboard, built in Python.

A campaign page may list thousands of rows (one per recipient domain); a
template macro escaping each number cost ~25 us a row. Every cell here is a
number we format ourselves (`int`, a percentage), never a string from the
store, so it is safe markup without escaping; the row's key (a domain, a
variant) stays in the template, where autoescaping covers it.

Counts and their unique counts share a column ("7 (5)", the second under the
first: `span.u`), and so do the machines' opens and clicks: the campaign list
must fit a 1280 px window with six-digit figures (issue 17). Each title
explains itself in a tooltip (`title`), since "sent" and "impressions" are
not obvious.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from markupsafe import Markup, escape

Figures = Mapping[str, Any]


def _count(name: str) -> Callable[[Figures], str]:
    return lambda f: str(int(f[name]))


def _with_unique(name: str) -> Callable[[Figures], str]:
    return lambda f: f'{int(f[name])} <span class="u">({int(f["unique_" + name])})</span>'


def _ctr(f: Figures) -> str:
    # No banner shown: no rate, rather than a 0.0% next to counted clicks.
    if not f.get("unique_impressions"):
        return '<span title="no impressions yet">—</span>'
    return f"{float(f['ctr'] or 0):.1%}"


def _machines(f: Figures) -> str:
    return f'{int(f["machine"]["opens"])} <span class="u">/ {int(f["machine"]["clicks"])}</span>'


# (title, explanation, cell class, cell text) in table order.
COLUMNS: tuple[tuple[str, str, str, Callable[[Figures], str]], ...] = (
    ("Sent", "Recipients the relay sent a copy to", "n", _count("sent")),
    ("Impressions", "Banner images shown (people and proxies)", "n", _count("impressions")),
    ("Opens", "Tracking pixels loaded (people and proxies)", "n", _count("opens")),
    (
        "Clicks (unique)",
        "Link clicks by people; in brackets: copies with a click",
        "n clicks",
        _with_unique("clicks"),
    ),
    (
        "CTR",
        "Click rate: copies with a click / copies whose banner was shown",
        "n ctr",
        _ctr,
    ),
    ("Opt-outs", "Recipients who opted out on the opt-out page", "n", _count("optouts")),
    # Reported by the landing page script (/t.js).
    (
        "Visits (unique)",
        "Landing page visits; in brackets: copies",
        "n visits",
        _with_unique("visits"),
    ),
    (
        "Link clicks (unique)",
        "Links followed on the landing page; in brackets: copies",
        "n link-clicks",
        _with_unique("link_clicks"),
    ),
    (
        "Downloads (unique)",
        "Files downloaded from the landing page; in brackets: copies",
        "n downloads",
        _with_unique("downloads"),
    ),
    (
        "Machine opens / clicks",
        "Fetched by scanners and prefetchers: not counted above",
        "n machines",
        _machines,
    ),
)
TITLES = Markup(
    "".join(
        f'<th title="{escape(explanation)}">{escape(title)}</th>'
        for title, explanation, _, _ in COLUMNS
    )
)


def figure_cells(figures: Figures) -> Markup:
    """The `<td>`s of one row (or of the totals)."""
    return Markup("".join(f'<td class="{css}">{cell(figures)}</td>' for _, _, css, cell in COLUMNS))
