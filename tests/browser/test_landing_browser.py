"""Chromium on a loopback landing site: /t.js reports the page view and a download."""

from __future__ import annotations

from pathlib import Path

from landingsite import landing_site, landing_tracker, serve

from tracker.landing import visit_id
from tracker.tokens import Keyring

COPY = "00112233445566aa"
KEYRING = Keyring({"t1": b"tracker-tests-signing-key-bytes!"}, current="t1")


async def test_landing_page_reports_view_and_download_with_the_visit_id(context, tmp_path: Path):
    # The loopback site is plain http: allowed as for a development site.
    async with landing_tracker(tmp_path, KEYRING, ("127.0.0.1",), allow_http=True) as tracker:
        runner, site = await serve(landing_site(tracker.url))
        try:
            page = await context.new_page()
            vid = visit_id(COPY, KEYRING)
            async with page.expect_request(f"{tracker.url}/t/e"):
                await page.goto(f"{site}/spring?utm=mail&sr_vid={vid}")
            events = f"{tracker.url}/t/e"
            async with page.expect_request(events), page.expect_download():
                await page.click("#pdf", modifiers=["Alt"])  # Alt-click: save the link
            recorded = await tracker.recorded()
        finally:
            await runner.cleanup()
    assert [(e.copy_id, e.kind) for e in recorded] == [(COPY, "visit"), (COPY, "download")]
    assert recorded[1].target == f"{site}/files/offer.pdf"
