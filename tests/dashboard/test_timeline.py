"""The campaign chart's time axis (tracker/dashboard/timeline.py) and drawing
(svg.py): every hour or day in the span gets a point, ticks name hours and
days, and a single point is drawn as a dot, not as a made-up line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tracker.dashboard.svg import Series, line_chart
from tracker.dashboard.timeline import HOURLY_FOR, daily, hourly, hours_shown

START = datetime(2025, 3, 9, 14, 35, tzinfo=UTC)


def test_hours_are_shown_for_48_hours_from_the_first_copy():
    assert hours_shown(START, START + HOURLY_FOR - timedelta(seconds=1))
    assert not hours_shown(START, START + HOURLY_FOR)


def test_every_hour_from_the_first_copy_up_to_now_gets_a_point():
    now = START + timedelta(hours=20)
    per_hour = {"2025-03-09 16": {"impressions": 4, "clicks": 1}, "2025-03-10 02": {"opens": 2}}
    timeline = hourly(START, now, per_hour)
    assert timeline.unit == "hour"
    assert timeline.labels[0] == "2025-03-09 14:00" and timeline.labels[-1] == "2025-03-10 10:00"
    assert len(timeline.labels) == 21
    impressions, opens, clicks, visits = (s.values for s in timeline.series)
    assert impressions[2] == 4 and clicks[2] == 1 and opens[12] == 2
    assert sum(impressions) == 4 and sum(visits) == 0, "hours without events are zero"


def test_hour_ticks_name_round_hours_and_midnight_names_the_day():
    timeline = hourly(START, START + timedelta(hours=30), {})
    ticks = dict(timeline.ticks)
    assert ticks[0] == "14:00"
    assert ticks[timeline.labels.index("2025-03-10 00:00")] == "10 Mar"
    assert all(text.endswith(":00") or text == "10 Mar" for text in ticks.values())
    assert 3 <= len(ticks) <= 9


def test_hourly_span_ends_after_48_hours():
    timeline = hourly(START, START + timedelta(days=5), {})
    assert len(timeline.labels) == 48


def test_days_between_the_first_and_last_get_a_point_each():
    rows = [{"day": "2025-03-01", "clicks": 3}, {"day": "2025-03-04", "impressions": 7}]
    timeline = daily(rows)
    assert timeline.labels == ("2025-03-01", "2025-03-02", "2025-03-03", "2025-03-04")
    assert timeline.series[2].values == (3.0, 0.0, 0.0, 0.0)
    assert timeline.ticks == ((0, "1 Mar"), (1, "2 Mar"), (2, "3 Mar"), (3, "4 Mar"))


def test_a_long_campaign_gets_at_most_nine_day_ticks_and_its_last_day():
    rows = [
        {"day": (datetime(2025, 1, 1) + timedelta(days=i)).date().isoformat()} for i in range(90)
    ]
    timeline = daily(rows)
    assert len(timeline.ticks) <= 10 and timeline.ticks[-1] == (89, "31 Mar")


def test_no_days_no_chart_points():
    assert daily([]).labels == ()


def test_one_point_is_a_dot_not_a_line():
    chart = line_chart(["2025-03-10"], [Series("clicks", (5.0,))])
    assert "<polyline" not in chart and chart.count("<circle") == 1


def test_tick_texts_are_escaped():
    chart = line_chart(["a", "b"], [Series("x", (1.0, 2.0))], [(0, "<b>"), (1, "&")])
    assert "&lt;b&gt;" in chart and "&amp;" in chart and "<b>" not in chart
