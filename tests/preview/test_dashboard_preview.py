"""/admin/preview: any employee's copies from the relay's own preview, shown in
sandboxed frames; admins only, CSRF-checked like every dashboard form; in
Chromium the signature shows and no script of the message runs."""

from __future__ import annotations

import html
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from config.running import RunningConfig
from peers import load_conftest, require_binary
from sigrelay.dashboard_preview import preview_source
from tracker.dashboard.preview_source import PreviewSource, RenderedCopy, RenderedPreview
from tracker.store import Store

sys.path.insert(0, str(Path(__file__).parents[1] / "dashboard"))
from dashboardsite import ADMIN, PASSWORD, Dashboard, dashboard_settings, serve_dashboard  # noqa: E402

browser_fixtures = load_conftest("browser", "browser_conftest")
browser, context, page = browser_fixtures.browser, browser_fixtures.context, browser_fixtures.page

FORM = {"sender": "anna.schmidt@example.com", "recipients": "max@customer.test", "kind": "reply"}
HOSTILE = (
    "<p>Hello</p><script>window.__ran = 1; parent.__ran = 1;</script>"
    '<img src="x" onerror="parent.__ran = 2"><p>Anna Schmidt</p>'
)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    await store.upgrade()
    yield store
    await store.close()


@pytest.fixture
async def site(tmp_path: Path, store: Store, cfg, keyring) -> AsyncIterator[Dashboard]:
    source = preview_source(RunningConfig(cfg), keyring, None)
    async for served in serve_dashboard(tmp_path, dashboard_settings(store, preview=source)):
        yield served


def _hostile_source() -> PreviewSource:
    async def render(sender: str, rcpts: tuple[str, ...], kind: str) -> RenderedPreview:
        copy = RenderedCopy("Copy 1 of 1: max@customer.test", "personal", HOSTILE, "Hello")
        return RenderedPreview("new: 1 copy", (), (copy,))

    return PreviewSource(lambda: [("anna.schmidt@example.com", "Anna Schmidt")], render)


async def test_the_page_needs_an_admin(site: Dashboard):
    response, _ = await site.page("/admin/preview")
    assert response.status == 303 and response.headers["Location"] == "/admin/login"


async def test_the_form_lists_the_directory_and_renders_every_copy_in_a_sandbox(site: Dashboard):
    await site.login()
    _, form = await site.page("/admin/preview")
    assert "Anna Schmidt &lt;anna.schmidt@example.com&gt;" in form
    assert "Ben Müller" in form
    csrf = await site.csrf("/admin/preview")
    rcpts = "max@customer.test, eva@partner.test"
    response, page_html = await site.post(
        "/admin/preview", FORM | {"recipients": rcpts, "csrf": csrf}
    )
    assert response.status == 200
    assert "reply: 2 copies, group sales, privacy personal" in page_html
    assert page_html.count('sandbox=""') == 4  # two copies, desktop and phone each
    assert "script-src" not in response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    frame = page_html.split('srcdoc="', 1)[1].split('"', 1)[0]
    assert "Anna Schmidt" in html.unescape(frame) and "<" not in frame  # escaped attribute


async def test_a_post_without_the_csrf_token_is_refused(site: Dashboard):
    await site.login()
    response, _ = await site.post("/admin/preview", FORM)
    assert response.status == 403


async def test_a_sender_outside_the_directory_is_refused(site: Dashboard):
    await site.login()
    csrf = await site.csrf("/admin/preview")
    form = FORM | {"sender": "stranger@example.com", "csrf": csrf}
    response, page_html = await site.post("/admin/preview", form)
    assert response.status == 400 and "Choose an employee" in page_html


async def _preview_in_browser(page, site: Dashboard) -> None:
    await page.goto(f"{site.url}/admin/login")
    await page.fill('input[name="name"]', ADMIN)
    await page.fill('input[name="password"]', PASSWORD)
    await page.click('button[type="submit"]')
    await page.wait_for_url(f"{site.url}/admin/campaigns")
    await page.goto(f"{site.url}/admin/preview")
    await page.fill('input[name="recipients"]', "max@customer.test")
    await page.click("form.preview-form button")
    await page.wait_for_selector("iframe.preview-frame")


async def test_chromium_shows_the_signature_in_the_frames(page, site: Dashboard):
    require_binary("chromium")
    await _preview_in_browser(page, site)
    frames = [f for f in page.frames if f != page.main_frame]
    assert len(frames) == 2
    for frame in frames:
        assert "Anna Schmidt" in await frame.locator("body").inner_text()


async def test_chromium_runs_no_script_from_the_message(page, tmp_path: Path, store: Store):
    require_binary("chromium")
    settings = dashboard_settings(store, preview=_hostile_source())
    async for site in serve_dashboard(tmp_path, settings):
        await _preview_in_browser(page, site)
        frame = next(f for f in page.frames if f != page.main_frame)
        assert "Anna Schmidt" in await frame.locator("body").inner_text()
        assert await page.evaluate("() => window.__ran") is None
        assert await frame.evaluate("() => window.__ran") is None
