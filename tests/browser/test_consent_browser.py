"""The consent page in Chromium (issue 16 item 7): the statement and its button
are there, a click POSTs the form and leaves a receipt; withdrawing works the
same way on the same page."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "privacy"))

from consentsite import KEY, KIM, serve  # noqa: E402

from tracker.consent import STATEMENTS, text_version  # noqa: E402
from tracker.recipients import recipient_key  # noqa: E402
from tracker.store.optout import consents_of, list_consent_receipts  # noqa: E402


async def test_a_recipient_gives_and_withdraws_consent_in_a_browser(page, tmp_path: Path):
    async for site in serve(tmp_path):
        await page.goto(site.link)
        give = page.locator('button[name="consent"][value="give"]')
        assert await give.is_visible()
        assert STATEMENTS["en"][:30] in await page.locator("section.consent").inner_text()
        async with page.expect_navigation():  # the form's POST answers with a page
            await give.click()
        assert "consent is recorded" in await page.locator("body").inner_text()
        key = recipient_key(KIM, KEY)
        assert await consents_of(site.store, [key]) == {key}
        await page.goto(site.link)
        async with page.expect_navigation():
            await page.locator('button[name="consent"][value="withdraw"]').click()
        assert "withdrawn" in await page.locator("body").inner_text()
        receipts = await list_consent_receipts(site.store)
        assert [(r.action, r.text_version) for r in receipts] == [
            ("given", text_version(STATEMENTS["en"])),
            ("withdrawn", text_version(STATEMENTS["en"])),
        ]
