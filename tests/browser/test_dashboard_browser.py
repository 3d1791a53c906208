"""The dashboard in a real browser: log in, a campaign's chart renders, forgetting
works through the confirmation, and markup from recipients stays text."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from dashboardsite import (
    ADMIN,
    PASSWORD,
    XSS_RECIPIENT,
    XSS_TARGET,
    Dashboard,
    copy,
    dashboard_settings,
    seed,
    serve_dashboard,
)
from pngpixels import rgb_pixels, variance

from tracker.pseudonym import pseudonym
from tracker.store import Store
from tracker.tokens import Kind, Token, encode

XSS_AGENT = '<script>window.__xss=3</script>"><img src=x onerror="window.__xss=4">'


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    await store.upgrade()
    await seed(store)
    yield store
    await store.close()


@pytest.fixture
async def site(tmp_path: Path, store: Store) -> AsyncIterator[Dashboard]:
    async for served in serve_dashboard(tmp_path, dashboard_settings(store)):
        yield served


async def _log_in(page, site: Dashboard) -> None:
    await page.goto(f"{site.url}/admin/login")
    await page.fill('input[name="name"]', ADMIN)
    await page.fill('input[name="password"]', PASSWORD)
    await page.click('button[type="submit"]')
    await page.wait_for_url(f"{site.url}/admin/campaigns")


async def test_admin_logs_in_opens_a_campaign_and_its_chart_renders(page, site, tmp_path):
    await _log_in(page, site)
    await page.click("text=Spring sale")
    await page.wait_for_url(f"{site.url}/admin/campaigns/spring")
    chart = page.locator("svg.chart")
    shot = tmp_path / "chart.png"
    await chart.screenshot(path=str(shot))
    pixels = rgb_pixels(shot.read_bytes())
    assert variance(pixels) > 100, "the chart is not blank"
    assert len(set(pixels)) > 20, "lines, axes and legend in several colours"
    assert "b beats a" in await page.locator("p.verdict").inner_text()


async def test_forget_through_the_confirmation_page(page, site):
    await _log_in(page, site)
    await page.goto(f"{site.url}/admin/privacy")
    await page.fill('input[name="address"]', "r2@customer.test")
    await page.click("text=Continue")
    await page.click("button.danger")
    result = await page.locator("p.result").inner_text()
    subject = pseudonym("r2@customer.test", dashboard_settings(site.store).pseudonym_key or b"")
    assert subject in result
    rows = (await site.store.stats(by="recipient"))["rows"]
    assert subject in {r["recipient"] for r in rows}
    assert "r2@customer.test" not in {r["recipient"] for r in rows}


async def test_markup_in_recipient_link_target_and_agent_shows_as_text(context, page, site):
    # The payload as user agent, through the tracker: the tracker keeps only a verdict.
    await site.store.record_copies([copy(77, campaign="autumn")])
    pixel = f"{site.url}/o/{encode(Token(Kind.OPEN, f'{77:016x}'), site.keyring)}"
    response = await context.request.get(pixel, headers={"User-Agent": XSS_AGENT})
    assert response.ok
    await site.writer.flush()

    await _log_in(page, site)
    for path in ("/admin/events", "/admin/campaigns/autumn"):
        await page.goto(f"{site.url}{path}")
        assert await page.evaluate("typeof window.__xss") == "undefined"
        assert await page.locator("td.recipient", has_text=XSS_RECIPIENT).first.is_visible()
        assert await page.locator("td.target", has_text=XSS_TARGET).first.is_visible()
        assert await page.locator("script").count() == 0
        assert XSS_AGENT not in await page.content(), "agents are never stored nor shown"
