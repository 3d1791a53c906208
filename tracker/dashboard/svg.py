"""Charts as inline SVG, drawn on the server: no JavaScript, no CDN, and the
strict Content-Security-Policy allows them (they are markup, not scripts).

Pure functions from numbers to markup. Labels may come from the store (days,
variant names), so every text goes through `escape`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c")
DOTS_UP_TO = 14  # points per line that still get a dot each


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[float, ...]


def _points(values: Sequence[float], width: float, height: float, top: float) -> list[str]:
    """Polyline points scaled into the box; one value is drawn as a flat line."""
    peak = max(values, default=0) or 1
    step = width / (len(values) - 1) if len(values) > 1 else 0
    coords = [(i * step, top + height - (v / peak) * height) for i, v in enumerate(values)]
    if len(coords) == 1:
        coords.append((width, coords[0][1]))
    return [f"{x:.1f},{y:.1f}" for x, y in coords]


def sparkline(values: Sequence[float], width: int = 120, height: int = 24) -> Markup:
    """A small trend line, e.g. clicks per day in the campaign list."""
    label = f"{len(values)} days, peak {max(values, default=0):g}"
    points = " ".join(_points(values or [0], width - 2, height - 4, 2))
    return Markup(
        f'<svg class="sparkline" role="img" aria-label="{escape(label)}" '
        f'width="{width}" height="{height}" viewBox="-1 0 {width} {height}">'
        f'<polyline fill="none" stroke="{PALETTE[0]}" stroke-width="1.5" points="{points}"/>'
        "</svg>"
    )


Tick = tuple[int, str]  # (index into the labels, text under the x axis)
LEGEND_ITEM = 120  # width of one legend entry; the legend wraps to more rows


def _x_axis(ticks: Sequence[Tick], points: int, x_of: Callable[[int], float], box: Box) -> str:
    """A faint grid line and a label per tick; labels at the ends of the axis
    are aligned inwards so that they stay inside the picture."""
    parts = []
    for index, text in ticks:
        x = x_of(index)
        anchor = "middle"
        if points > 1 and index in (0, points - 1):
            anchor = "start" if index == 0 else "end"
        parts.append(
            f'<line x1="{x:.1f}" y1="{box.top}" x2="{x:.1f}" y2="{box.bottom + 4}" class="grid"/>'
            f'<text x="{x:.1f}" y="{box.bottom + 18}" text-anchor="{anchor}" class="axis tick">'
            f"{escape(text)}</text>"
        )
    return "".join(parts)


@dataclass(frozen=True)
class Box:
    left: float
    top: float
    right: float
    bottom: float


def _legend(series: Sequence[Series], left: float, per_row: int) -> str:
    parts = []
    for index, item in enumerate(series):
        x = left + (index % per_row) * LEGEND_ITEM
        y = 8 + (index // per_row) * 18
        parts.append(
            f'<rect x="{x}" y="{y}" width="12" height="12" fill="{PALETTE[index % len(PALETTE)]}"/>'
            f'<text x="{x + 16}" y="{y + 10}" class="legend">{escape(item.name)}</text>'
        )
    return "".join(parts)


def line_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    ticks: Sequence[Tick] | None = None,
    *,
    title: str = "time series",
    css_class: str = "chart",
    width: int = 720,
    height: int = 260,
) -> Markup:
    """A time-series chart: one line per series over the same x labels, a legend,
    the peak on the y axis, and `ticks` on the x axis (default: the first and
    last label). Few points get a dot each, so one point is visible as a dot
    rather than drawn as a made-up flat line."""
    left, right = 44, 12
    per_row = max(1, (width - left - right) // LEGEND_ITEM)
    top = 14 + math.ceil(len(series) / per_row) * 18
    box = Box(left, top, width - right, height - 30)
    plot_w, plot_h = box.right - box.left, box.bottom - box.top
    peak = max((v for s in series for v in s.values), default=0)
    scale = peak or 1
    count = max((len(s.values) for s in series), default=0)
    step = plot_w / (count - 1) if count > 1 else 0.0

    def x_of(index: int) -> float:
        return left + index * step if count > 1 else left + plot_w / 2

    if ticks is None:
        ticks = [(i, labels[i]) for i in sorted({0, len(labels) - 1})] if labels else []
    parts = [
        f'<svg class="{css_class}" role="img" aria-label="{escape(title)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#ffffff" '
        'stroke="#d1d5db"/>',
        _x_axis(ticks, count, x_of, box),
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" class="axis">{peak:g}</text>',
        f'<text x="{left - 6}" y="{box.bottom}" text-anchor="end" class="axis">0</text>',
        _legend(series, left, per_row),
    ]
    for index, item in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        xys = [(x_of(i), box.bottom - v / scale * plot_h) for i, v in enumerate(item.values)]
        if len(xys) > 1:
            points = " ".join(f"{x:.1f},{y:.1f}" for x, y in xys)
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>'
            )
        if len(xys) <= DOTS_UP_TO:
            parts.extend(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in xys
            )
    parts.append("</svg>")
    return Markup("".join(parts))
