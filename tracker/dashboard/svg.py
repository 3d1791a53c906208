"""Charts as inline SVG, drawn on the server: no JavaScript, no CDN, and the
strict Content-Security-Policy allows them (they are markup, not scripts).

Pure functions from numbers to markup. Labels may come from the store (days,
variant names), so every text goes through `escape`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c")


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


def line_chart(
    labels: Sequence[str], series: Sequence[Series], width: int = 720, height: int = 260
) -> Markup:
    """A time-series chart: one line per series over the same x labels, a legend,
    the peak on the y axis, first and last label on the x axis."""
    left, right, top, bottom = 48, 12, 28, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((v for s in series for v in s.values), default=0)
    scale = peak or 1
    parts = [
        f'<svg class="chart" role="img" aria-label="time series" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#ffffff" '
        'stroke="#d1d5db"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" class="axis">{peak:g}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" class="axis">0</text>',
    ]
    if labels:
        parts.append(
            f'<text x="{left}" y="{height - 8}" class="axis">{escape(labels[0])}</text>'
            f'<text x="{left + plot_w}" y="{height - 8}" text-anchor="end" class="axis">'
            f"{escape(labels[-1])}</text>"
        )
    for index, item in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        values = list(item.values) or [0.0]
        if len(values) == 1:  # one day: a flat line across the plot, not an invisible dot
            values = values * 2
        step = plot_w / (len(values) - 1)
        xs = [left + i * step for i in range(len(values))]
        ys = [top + plot_h - v / scale * plot_h for v in values]
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>'
        )
        legend_x = left + index * 130
        parts.append(
            f'<rect x="{legend_x}" y="8" width="12" height="12" fill="{colour}"/>'
            f'<text x="{legend_x + 16}" y="18" class="legend">{escape(item.name)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
