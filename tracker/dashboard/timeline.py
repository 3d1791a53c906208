"""The campaign page's chart: per hour in the campaign's first 48 hours, per
day after that (issue 17: one day's figures drawn per day were flat lines).

Pure functions from counts to a `Timeline`; every hour or day in the span
gets a point, zero when nothing happened, so the x axis is true time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from markupsafe import Markup

from tracker.dashboard.svg import Series, Tick, line_chart

HOURLY_FOR = timedelta(hours=48)
SERIES = ("impressions", "opens", "clicks", "visits")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MOST_TICKS = 9
PHONE_TICKS = 4
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Timeline:
    unit: str  # "hour" | "day"
    labels: tuple[str, ...]
    ticks: tuple[Tick, ...]
    series: tuple[Series, ...]

    @property
    def heading(self) -> str:
        if self.unit == "day":
            return "Per day"
        return f"Per hour since the first copy ({self.labels[0]} UTC)"

    def chart(self) -> Markup:
        """Drawn twice: for a window and, with fewer ticks, for a phone (the
        stylesheet shows one), so that no text shrinks below legible."""
        title = f"{', '.join(SERIES)} per {self.unit} (UTC)"
        every = math.ceil(len(self.ticks) / PHONE_TICKS)
        return line_chart(self.labels, self.series, self.ticks, title=title) + line_chart(
            self.labels,
            self.series,
            self.ticks[::every],
            title=title,
            css_class="chart-narrow",
            width=360,
        )


def _day_text(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]}"  # not strftime: the same in every locale


def _series(points: Sequence[Mapping[str, Any]]) -> tuple[Series, ...]:
    return tuple(Series(name, tuple(float(p.get(name, 0)) for p in points)) for name in SERIES)


def hours_shown(start: datetime, now: datetime) -> bool:
    """True while the campaign is in its first 48 hours."""
    return now < start + HOURLY_FOR


def hourly(start: datetime, now: datetime, per_hour: Mapping[str, Mapping[str, int]]) -> Timeline:
    """Every UTC hour from the campaign's first copy up to now (at most 48);
    `per_hour` is keyed 'YYYY-MM-DD HH' (tracker/dashboard/reads.py)."""
    first = start.replace(minute=0, second=0, microsecond=0)
    last = min(now, start + HOURLY_FOR - HOUR)
    hours = [first + i * HOUR for i in range(max(0, int((last - first) / HOUR)) + 1)]
    # Ticks on round hours: every hour of a young campaign, every 3 or 6 later.
    every = next(n for n in (1, 2, 3, 6, 12) if len(hours) / n <= MOST_TICKS)
    ticks: list[Tick] = []
    for index, hour in enumerate(hours):
        if hour.hour == 0:
            ticks.append((index, _day_text(hour.date())))
        elif index == 0 or hour.hour % every == 0:
            ticks.append((index, f"{hour:%H}:00"))
    points = [per_hour.get(f"{hour:%Y-%m-%d %H}", {}) for hour in hours]
    labels = tuple(f"{hour:%Y-%m-%d %H}:00" for hour in hours)
    return Timeline("hour", labels, _close_ticks_dropped(ticks, len(hours)), _series(points))


def daily(rows: Sequence[Mapping[str, Any]]) -> Timeline:
    """Every day from the first to the last of the stats rows by day."""
    by_day = {date.fromisoformat(row["day"]): row for row in rows if row.get("day")}
    if not by_day:
        return Timeline("day", (), (), _series([]))
    first, last = min(by_day), max(by_day)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    every = math.ceil(len(days) / MOST_TICKS)
    ticks = [(i, _day_text(day)) for i, day in enumerate(days) if i % every == 0]
    if len(days) > 1 and ticks[-1][0] != len(days) - 1:
        ticks.append((len(days) - 1, _day_text(days[-1])))
    points = [by_day.get(day, {}) for day in days]
    labels = tuple(day.isoformat() for day in days)
    return Timeline("day", labels, _close_ticks_dropped(ticks, len(days)), _series(points))


def _close_ticks_dropped(ticks: list[Tick], points: int) -> tuple[Tick, ...]:
    """Leaves out a tick too close to the one before (their texts would overlap)."""
    gap = points / MOST_TICKS / 2
    kept: list[Tick] = []
    for tick in ticks:
        if kept and tick[0] - kept[-1][0] < gap:
            continue
        kept.append(tick)
    return tuple(kept)
