"""A campaign page over HTTP: the A/B panel shows the configured variants with
their weights and shares, the copies and recipients each got, the rates and
the verdict; the chart switches from hours to days after 48 hours."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from dashboardsite import NOW, Dashboard, copy, dashboard_settings, serve_dashboard

from tracker.store import Store

WEIGHTS = {"spring": {"a": 3, "b": 1, "c": 1}}


@pytest.fixture
async def site(tmp_path: Path, seeded: Store) -> AsyncIterator[Dashboard]:
    settings = dashboard_settings(seeded, campaign_variants=WEIGHTS)
    async for served in serve_dashboard(tmp_path, settings):
        await served.login()
        yield served


def _variant_rows(html: str) -> dict[str, list[str]]:
    table = BeautifulSoup(html, "html.parser").select_one("section.ab table.variants")
    assert table is not None
    rows = [[td.get_text() for td in tr.select("td")] for tr in table.select("tbody tr")]
    return {row[0]: row[1:] for row in rows}


async def test_ab_panel_shows_weights_shares_and_copies_per_variant(site):
    _, html = await site.page("/admin/campaigns/spring")
    rows = _variant_rows(html)
    # Weight, planned share, copies, recipients, share got, unique impressions, clicks, CTR.
    assert rows["a"][:8] == ["3", "60.0%", "10", "10", "50.0%", "10", "1", "10.0%"]
    assert rows["b"][:8] == ["1", "20.0%", "10", "10", "50.0%", "10", "6", "60.0%"]
    assert rows["c"][:5] == ["1", "20.0%", "0", "0", "0.0%"], "configured, nothing sent yet"
    assert list(rows) == ["a", "b", "c"], "in the configuration's order"
    verdict = BeautifulSoup(html, "html.parser").select_one("p.verdict").get_text()
    assert verdict.startswith("b beats a, 95% confidence") and "p = 0.0191" in verdict


async def test_ab_panel_lists_a_variant_no_longer_configured(site):
    await site.store.record_copies([copy(50, variant="old", recipients=4)])
    _, html = await site.page("/admin/campaigns/spring")
    rows = _variant_rows(html)
    assert list(rows) == ["a", "b", "c", "old"]
    assert rows["old"][:4] == ["not configured", "—", "1", "4"]


async def test_chart_is_per_hour_in_the_first_48_hours_then_per_day(site):
    start = NOW - timedelta(hours=47)
    await site.store.record_copies([copy(n, campaign="young", sent_at=start) for n in (60, 61)])
    _, html = await site.page("/admin/campaigns/young")
    assert "Per hour since the first copy" in html
    ticks = [t.get_text() for t in BeautifulSoup(html, "html.parser").select("svg.chart .tick")]
    assert "13:00" in ticks and "10 Mar" in ticks, ticks  # the first hour, then midnight
    await site.store.record_copies([copy(62, campaign="young", sent_at=start - timedelta(hours=2))])
    _, html = await site.page("/admin/campaigns/young")
    assert "Per hour" not in html and "<h2>Per day</h2>" in html
