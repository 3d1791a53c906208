"""A delivered copy's hosted logo, shown by Chromium: the whole service runs
(relay and tracker), the copy's HTML refers to /i/logo.png on the tracker,
and the browser loads and paints it."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from imagefiles import LOGO_RGB, add_logo
from pngpixels import rgb_pixels

from config import load_config
from exampleflow import SALES_SENDER, html_message, send
from mailparts import body_text
from peers import free_port
from sigrelay.service import Service
from smtpsink import SmtpSink

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example"


async def test_the_hosted_logo_shows_in_the_delivered_copy(page, tmp_path: Path, sink: SmtpSink):
    config_dir = tmp_path / "config"
    shutil.copytree(EXAMPLE, config_dir)
    add_logo(config_dir, embed=False)
    tracker_port = free_port()
    cfg = load_config(
        config_dir,
        {
            "SIGRELAY_DATA": str(tmp_path / "data"),
            "SIGRELAY_RELAY__LISTEN": f"127.0.0.1:{free_port()}",
            "SIGRELAY_TRACKER__LISTEN": f"127.0.0.1:{tracker_port}",
            "SIGRELAY_TRACKER__PUBLIC_URL": f"http://127.0.0.1:{tracker_port}",
            "SIGRELAY_UPSTREAM__URL": sink.url,
        },
    )
    service = Service(cfg)
    await service.start()
    try:
        rcpts = ["kim@customer.test"]
        await asyncio.to_thread(send, cfg, SALES_SENDER, rcpts, html_message(SALES_SENDER, rcpts))
        (copy,) = await sink.handler.wait_for(1)
        html = body_text(copy.data, "html")
        assert f"http://127.0.0.1:{tracker_port}/i/logo.png" in html
        await page.set_viewport_size({"width": 800, "height": 900})
        await page.set_content(html, wait_until="load")
        logo = page.locator('img[alt="Example logo"]')
        size = await logo.evaluate("img => [img.complete, img.naturalWidth, img.naturalHeight]")
        assert size == [True, 40, 20]
        shot = await logo.screenshot(path=str(tmp_path / "logo.png"))
    finally:
        await service.stop()
    pixels = rgb_pixels(shot)
    painted = sum(
        1 for p in pixels if all(abs(a - b) < 16 for a, b in zip(p, LOGO_RGB, strict=True))
    )
    assert painted > len(pixels) * 0.8
