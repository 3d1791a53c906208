"""The dashboard and the opt-out page laid out by Chromium in a 1280 px window
and on a 390 px phone (issue 17 item 7): no page scrolls sideways, the campaign
table fits 1280 px even with six-digit figures, the chart shows hours in a
campaign's first 48 hours, and names from the store stay text.

SIGRELAY_SCREENSHOTS=DIR keeps a screenshot of every page there, to look at."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from dashboardsite import Dashboard
from layoutsite import (
    COMPANY,
    MARKUP_CAMPAIGN,
    MARKUP_VARIANT,
    keep_screenshot,
    log_in,
    optout_link,
    seed_layout,
    serve_layout,
)

from tracker.store import Store

WIDTHS = (1280, 390)
PAGES = (
    "/admin/campaigns",
    "/admin/campaigns/spring",
    "/admin/campaigns/fresh",
    "/admin/campaigns/autumn",
    "/admin/events",
    "/admin/optouts",
    "/admin/privacy",
    "/admin/export",
    "/admin/campaigns/nope",
)
SCROLL_WIDTH = "document.scrollingElement.scrollWidth"
HOUR_TICK = re.compile(r"\d\d:00")


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Dashboard]:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    await store.upgrade()
    await seed_layout(store)
    async for served in serve_layout(tmp_path, store, COMPANY):
        yield served
    await store.close()


def _name(path: str, width: int) -> str:
    return f"{path.strip('/').replace('/', '_') or 'root'}-{width}"


@pytest.mark.parametrize("width", WIDTHS)
async def test_no_page_scrolls_sideways(context_at, site, width):
    page = await (await context_at(width)).new_page()
    too_wide = {}

    async def measure(path: str) -> None:
        await page.goto(f"{site.url}{path}")
        await keep_screenshot(
            page, _name(path.split("/u/")[0] + "/optout" * ("/u/" in path), width)
        )
        scroll_width = await page.evaluate(SCROLL_WIDTH)
        if scroll_width > width:
            too_wide[path] = scroll_width

    await measure("/admin/login")
    await log_in(page, site)
    for path in PAGES:
        await measure(path)
    await measure(optout_link(site).removeprefix(site.url))  # with the consent form
    assert too_wide == {}, f"wider than {width} px"


async def test_campaign_table_fits_1280_px_with_six_digit_figures(context_at, site):
    page = await (await context_at(1280)).new_page()
    await log_in(page, site)
    # The widest figures a large campaign shows, in place of the seeded ones.
    await page.evaluate(
        """() => { for (const td of document.querySelectorAll('table.campaigns td.n')) {
            const second = td.querySelector('.u');
            if (second) second.textContent = second.textContent.startsWith('(')
                ? '(888888)' : '/ 888888';
            td.firstChild.nodeValue = td.textContent.includes('%') ? '100.0%' : '8888888 ';
        } }"""
    )
    await keep_screenshot(page, "campaigns-six-digits-1280")
    box_width, box_scroll_width, page_width = await page.evaluate(
        """() => { const box = document.querySelector('table.campaigns').parentElement;
            return [box.clientWidth, box.scrollWidth, document.scrollingElement.scrollWidth]; }"""
    )
    assert page_width <= 1280
    assert box_scroll_width <= box_width, "the campaign table scrolls inside its box"


async def _ticks(page, chart: str) -> list[str]:
    return await page.locator(f"svg.{chart} text.tick").all_text_contents()


async def test_chart_shows_hours_in_a_campaigns_first_48_hours(context_at, site):
    page = await (await context_at(1280)).new_page()
    await log_in(page, site)
    await page.goto(f"{site.url}/admin/campaigns/fresh")
    assert await page.locator("h2", has_text="Per hour").is_visible()
    ticks = await _ticks(page, "chart")
    assert len([t for t in ticks if HOUR_TICK.fullmatch(t)]) >= 3, ticks
    assert "10 Mar" in ticks, "midnight is marked with the day"
    await page.goto(f"{site.url}/admin/campaigns/spring")  # sent two days ago
    assert await page.locator("h2", has_text="Per day").is_visible()
    assert await _ticks(page, "chart") == ["7 Mar", "8 Mar", "9 Mar", "10 Mar"]


async def test_phone_gets_the_narrow_chart_with_hour_ticks(context_at, site):
    page = await (await context_at(390)).new_page()
    await log_in(page, site)
    await page.goto(f"{site.url}/admin/campaigns/fresh")
    narrow = page.locator("svg.chart-narrow")
    assert await narrow.is_visible() and not await page.locator("svg.chart").is_visible()
    box = await narrow.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    ticks = await _ticks(page, "chart-narrow")
    assert 2 <= len(ticks) <= 4 and any(HOUR_TICK.fullmatch(t) for t in ticks), ticks


async def test_campaign_and_variant_names_from_the_store_stay_text(context_at, site):
    page = await (await context_at(1280)).new_page()
    await log_in(page, site)
    link = page.locator("td.name a", has_text="odd")
    assert await link.inner_text() == MARKUP_CAMPAIGN
    await link.click()
    await page.wait_for_selector("section.ab")
    assert await page.locator("h1").inner_text() == MARKUP_CAMPAIGN
    assert MARKUP_VARIANT in await page.locator("td.variant").all_inner_texts()
    await page.locator("h1").hover()  # onmouseover, were it markup
    assert await page.evaluate("typeof window.__xss") == "undefined"
    assert await page.locator("main img, main b").count() == 0
