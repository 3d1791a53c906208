"""Issue 13, part 6: what the recipient sees, in Chromium.

A reply goes through the relay on the example configuration; its delivered
HTML is shown as a mail program with images on shows it, at a phone's width
(390 px) and a desktop's (1280 px). On the phone the 600 px banner scales down
to fit, all of it visible, nothing scrolls sideways; on the desktop it keeps
its natural 600 px. Below it, the quoted thread keeps a visible gap.
Screenshots of both go to /tmp for a person to look at."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest

from config import Config, load_config
from exampleflow import SALES_SENDER, send
from mailparts import body_text
from peers import free_port
from sigrelay.service import Service
from smtpsink import SmtpSink

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example"
SCREENSHOTS = Path("/tmp")
BANNER_WIDTH = 600  # the example banners' natural width (and their width attribute)
MIN_GAP = 12  # px between the banner's bottom and the quote's top
MIN_GAP_ABOVE = 8  # px between the signature's last line (the opt-out link) and the banner

# Where things are, as the rendered page has them.
MEASURE = """() => {
  const banner = document.querySelector('.sigrelay-banner img');
  // The quoted thread starts right after the banner block (its attribution line).
  const quote = banner.closest('.sigrelay-banner').nextElementSibling;
  const box = banner.getBoundingClientRect();
  // Right above it: the signature block, whose last line is the opt-out link.
  const above = banner.closest('.sigrelay-banner').previousElementSibling;
  return {
    loaded: banner.complete && banner.naturalWidth > 0,
    left: box.left, right: box.right, width: box.width, height: box.height,
    top: box.top, bottom: box.bottom, quoteTop: quote.getBoundingClientRect().top,
    aboveBottom: above.getBoundingClientRect().bottom,
    viewport: document.documentElement.clientWidth,
    scrollWidth: document.documentElement.scrollWidth,
    naturalWidth: banner.naturalWidth, naturalHeight: banner.naturalHeight,
  };
}"""


@pytest.fixture
def cfg(tmp_path: Path, sink: SmtpSink) -> Config:
    config_dir = tmp_path / "config"
    shutil.copytree(EXAMPLE, config_dir)
    tracker_port = free_port()
    env = {
        "SIGRELAY_DATA": str(tmp_path / "data"),
        "SIGRELAY_RELAY__LISTEN": f"127.0.0.1:{free_port()}",
        "SIGRELAY_TRACKER__LISTEN": f"127.0.0.1:{tracker_port}",
        "SIGRELAY_TRACKER__PUBLIC_URL": f"http://127.0.0.1:{tracker_port}",
        "SIGRELAY_UPSTREAM__URL": sink.url,
    }
    return load_config(config_dir, env)


@pytest.fixture
async def reply_html(cfg: Config, sink: SmtpSink) -> AsyncIterator[str]:
    """The delivered HTML of a tracked reply: signature, banner, then the quote."""
    service = Service(cfg)
    await service.start()
    try:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = SALES_SENDER, "kim@customer.test", "Re: Offer"
        msg["In-Reply-To"] = "<offer-1@customer.test>"
        msg.set_content("Thanks, Kim.\n\nOn Mon, Kim wrote:\n> Could you send the offer?\n")
        msg.add_alternative(
            "<html><body><p>Thanks, Kim.</p><div>On Mon, Kim wrote:</div>"
            '<blockquote type="cite" style="margin:0">Could you send the offer?</blockquote>'
            "</body></html>",
            "html",
        )
        await asyncio.to_thread(
            send, cfg, SALES_SENDER, ["kim@customer.test"], msg.as_bytes(policy=SMTP)
        )
        (copy,) = await sink.handler.wait_for(1)
        yield body_text(copy.data, "html")
    finally:
        await service.stop()


async def _render(page, html: str, width: int) -> dict:
    await page.set_viewport_size({"width": width, "height": 900})
    await page.set_content(html, wait_until="load")
    await page.screenshot(path=str(SCREENSHOTS / f"sigrelay-copy-{width}px.png"), full_page=True)
    return await page.evaluate(MEASURE)


async def test_banner_fits_a_phone_screen_whole(page, reply_html: str):
    box = await _render(page, reply_html, 390)
    assert box["loaded"], "the banner image was served by the tracker"
    assert box["width"] <= box["viewport"] and box["left"] >= 0
    assert box["right"] <= box["viewport"], "the banner's right edge (its button) is on screen"
    assert box["scrollWidth"] <= box["viewport"], "nothing scrolls sideways"
    # Scaled, not squeezed: the aspect ratio is the image's own.
    ratio = box["naturalWidth"] / box["naturalHeight"]
    assert box["width"] / box["height"] == pytest.approx(ratio, rel=0.02)


async def test_banner_keeps_its_natural_width_on_a_desktop(page, reply_html: str):
    box = await _render(page, reply_html, 1280)
    assert box["loaded"] and box["width"] == BANNER_WIDTH


@pytest.mark.parametrize("width", [390, 1280])
async def test_a_visible_gap_between_banner_and_quote(page, reply_html: str, width: int):
    box = await _render(page, reply_html, width)
    assert box["quoteTop"] - box["bottom"] >= MIN_GAP


@pytest.mark.parametrize("width", [390, 1280])
async def test_the_opt_out_line_above_does_not_touch_the_banner(page, reply_html: str, width: int):
    box = await _render(page, reply_html, width)
    assert box["top"] - box["aboveBottom"] >= MIN_GAP_ABOVE
