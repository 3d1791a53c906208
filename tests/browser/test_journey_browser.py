"""A recipient's whole journey in Chromium, on the example configuration over
real sockets: the relay delivers a tracked copy to an SMTP sink; its HTML is
opened as a mail program with images on would; pixel and banner load; the
banner is clicked and the company's landing page (an aiohttp server on
loopback) is reached and reports its view through /t.js; the opt-out link is
followed and confirmed. The store then holds exactly those events, and the next
message is untracked."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import select

from config import Config, load_config
from exampleflow import SALES_SENDER, relay
from mailparts import body_text, tokens
from peers import free_port
from sigrelay.service import Service
from smtpsink import SmtpSink
from tracker.store.models import events

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example"
KIM = "kim@customer.test"
CAMPAIGN = "spring-launch"


class LandingSite:
    """The company's website on loopback: it records which pages were fetched."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.visits: list[str] = []
        self.tracker_url = ""  # the page includes the tracker's /t.js, as admins do
        self._runner: web.AppRunner | None = None

    async def _page(self, request: web.Request) -> web.Response:
        self.visits.append(request.path_qs)
        script = f'<script src="{self.tracker_url}/t.js" async></script>'
        html = f"<!doctype html><title>Spring</title><h1>Spring launch</h1>{script}"
        return web.Response(text=html, content_type="text/html")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/spring", self._page)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def landing() -> AsyncIterator[LandingSite]:
    site = LandingSite()
    await site.start()
    yield site
    await site.stop()


@pytest.fixture
def cfg(tmp_path: Path, sink: SmtpSink, landing: LandingSite) -> Config:
    config_dir = tmp_path / "config"
    shutil.copytree(EXAMPLE, config_dir)
    toml = config_dir / "sigrelay.toml"
    # The banner leads to the landing site on loopback instead of www.example.com.
    toml.write_text(
        toml.read_text().replace("https://www.example.com/spring", f"{landing.url}/spring")
    )
    tracker_port = free_port()
    landing.tracker_url = f"http://127.0.0.1:{tracker_port}"
    env = {
        "SIGRELAY_COMPANY__LANDING_DOMAINS": "127.0.0.1",
        # The loopback landing site is plain http, as a development site would be.
        "SIGRELAY_TRACKER__LANDING_ALLOW_HTTP": "true",
        "SIGRELAY_DATA": str(tmp_path / "data"),
        "SIGRELAY_RELAY__LISTEN": f"127.0.0.1:{free_port()}",
        "SIGRELAY_TRACKER__LISTEN": f"127.0.0.1:{tracker_port}",
        "SIGRELAY_TRACKER__PUBLIC_URL": f"http://127.0.0.1:{tracker_port}",
        "SIGRELAY_UPSTREAM__URL": sink.url,
        # A person clicks seconds after delivery here; in real life that is a scanner.
        "SIGRELAY_TRACKER__SCANNER_CLICK_SECONDS": "0",
    }
    return load_config(config_dir, env)


@pytest.fixture
async def service(cfg: Config) -> AsyncIterator[Service]:
    service = Service(cfg)
    await service.start()
    yield service
    await service.stop()


async def _copy_html(cfg: Config, sink: SmtpSink, count: int) -> str:
    await relay(cfg, SALES_SENDER, [KIM])
    received = await sink.handler.wait_for(count)
    return body_text(received[count - 1].data, "html")


async def test_recipient_opens_clicks_the_banner_and_opts_out(
    cfg: Config, service: Service, sink: SmtpSink, landing: LandingSite, page
):
    assert service.store is not None and service.writer is not None
    html = await _copy_html(cfg, sink, 1)
    tracker = cfg.tracker.public_url

    # A mail program with images on: the pixel and the banner are fetched.
    fetched: list[str] = []
    page.on("requestfinished", lambda request: fetched.append(request.url))
    await page.set_content(html, wait_until="load")
    assert any(url.startswith(f"{tracker}/o/") for url in fetched), "pixel loaded"
    assert any(url.startswith(f"{tracker}/b/") for url in fetched), "banner loaded"
    assert (
        await page.evaluate(
            "[...document.images].filter(i => i.src.includes('/b/'))[0].naturalWidth"
        )
        > 0
    ), "the banner shows"

    # The banner is clicked: through our redirect to the landing page, whose
    # /t.js reports the page view with the visit id the redirect appended.
    async with page.expect_response(f"{tracker}/t/e"):  # answered: the event is submitted
        await page.click("a:has(img[src*='/b/'])")
        await page.wait_for_url(f"{landing.url}/spring*")
    assert [visit.split("?")[0] for visit in landing.visits] == ["/spring"]
    assert "sr_vid=" in landing.visits[0]

    # The opt-out link, then "do not track me at all".
    (optout,) = set(tokens(html, "u"))
    await page.goto(f"{tracker}/u/{optout}")
    await page.check('input[value="untracked"]')
    await page.click('button[type="submit"]')
    await page.wait_for_load_state()

    await service.writer.flush()
    async with service.store.engine.connect() as conn:
        recorded = (await conn.execute(select(events.c.kind, events.c.verdict))).all()
    assert sorted(recorded) == [
        ("click", "human"),
        ("impression", "human"),
        ("open", "human"),
        ("optout", "human"),
        ("visit", "human"),
    ]
    totals = (await service.store.stats(campaign=CAMPAIGN))["totals"]
    assert (totals["sent"], totals["impressions"], totals["opens"]) == (1, 1, 1)
    assert (totals["clicks"], totals["unique_clicks"], totals["optouts"]) == (1, 1, 1)
    assert totals["machine"] == {"opens": 0, "clicks": 0}

    # The next message to the same recipient carries no tracking at all.
    following = await _copy_html(cfg, sink, 2)
    assert {kind: tokens(following, kind) for kind in "ocu"} == {"o": [], "c": [], "u": []}
