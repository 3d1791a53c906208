"""The opt-out page names the company (issue 17 item 7): `[company] name` in
the title and the introduction, in the recipient's language, as text however
it is spelt; "our e-mails" when no name is configured."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from dashboardsite import Dashboard
from layoutsite import COMPANY, keep_screenshot, optout_link, seed_layout, serve_layout

from tracker.store import Store

# Markup in a company name must stay text: the page escapes it like everything else.
TRICKY_COMPANY = '<img src=x onerror="window.__xss=7"> & Co'


@pytest.fixture
async def serve(tmp_path: Path) -> AsyncIterator[Callable]:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    await store.upgrade()
    await seed_layout(store)

    def serve_(company: str) -> AsyncIterator[Dashboard]:
        return serve_layout(tmp_path, store, company)

    yield serve_
    await store.close()


async def _page_of(context_at, site: Dashboard, **options):
    page = await (await context_at(390, **options)).new_page()
    await page.goto(optout_link(site))
    return page


async def test_optout_page_names_the_company(context_at, serve):
    async for site in serve(COMPANY):
        page = await _page_of(context_at, site)
        await keep_screenshot(page, "optout-company-390")
        assert await page.locator("h1").inner_text() == f"Tracking of e-mails from {COMPANY}"
        intro = page.locator("p", has_text="E-mails from")
        assert (await intro.inner_text()).startswith(f"E-mails from {COMPANY} to you")


async def test_optout_page_names_the_company_in_german(context_at, serve):
    async for site in serve(COMPANY):
        page = await _page_of(context_at, site, locale="de-DE")
        assert await page.locator("h1").inner_text() == f"Auswertung der E-Mails von {COMPANY}"


async def test_optout_page_without_a_company_name_says_our_emails(context_at, serve):
    async for site in serve("  "):
        page = await _page_of(context_at, site)
        assert await page.locator("h1").inner_text() == "Tracking of our e-mails"
        assert "Our e-mails to you" in await page.locator("body").inner_text()


async def test_company_name_with_markup_shows_as_text(context_at, serve):
    async for site in serve(TRICKY_COMPANY):
        page = await _page_of(context_at, site)
        assert TRICKY_COMPANY in await page.locator("h1").inner_text()
        assert await page.locator("img").count() == 0
        assert await page.evaluate("typeof window.__xss") == "undefined"
