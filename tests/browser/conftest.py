"""Fixtures of the browser tests: Debian's Chromium driven by Playwright.

Chromium runs with no sandbox (containers), no GPU and no background
networking; every request it makes to anything but 127.0.0.1 is aborted, so
a test can never reach the internet, whatever a page links to."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from peers import require_binary

# Helpers: this folder's (pngpixels) and the dashboard tests' site (dashboardsite).
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "dashboard"))

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
# A desktop browser's agent: Chromium's own says "HeadlessChrome", which the
# tracker rightly counts as a machine.
DESKTOP_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)


@pytest.fixture
async def browser() -> AsyncIterator:
    executable = require_binary("chromium")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


async def _loopback_only(route) -> None:
    url = route.request.url
    if urlsplit(url).hostname == "127.0.0.1" or url.startswith(("data:", "about:")):
        await route.continue_()
    else:
        await route.abort()


@pytest.fixture
async def context(browser) -> AsyncIterator:
    context = await browser.new_context(user_agent=DESKTOP_AGENT)
    await context.route("**/*", _loopback_only)
    yield context
    await context.close()


@pytest.fixture
async def page(context) -> AsyncIterator:
    yield await context.new_page()


@pytest.fixture
async def context_at(browser) -> AsyncIterator:
    """Makes browser contexts with a window `width` px wide (closed at the end)."""
    opened = []

    async def open_(width: int, height: int = 900, **options):
        context = await browser.new_context(
            viewport={"width": width, "height": height}, user_agent=DESKTOP_AGENT, **options
        )
        await context.route("**/*", _loopback_only)
        opened.append(context)
        return context

    yield open_
    for context in opened:
        await context.close()
