"""The dashboard tests' site (tests/dashboard/dashboardsite.py) with what the
layout tests need besides: a campaign in its first 48 hours, a long campaign
name, a campaign and a variant named with markup (as the store may hold them),
configured weights, and the opt-out page naming the company."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

from dashboardsite import (
    ADMIN,
    CAMPAIGNS,
    NOW,
    PASSWORD,
    PSEUDONYM_KEY,
    Dashboard,
    copy,
    dashboard_settings,
    seed,
    serve_dashboard,
)

from tracker.optout import OptOutSettings
from tracker.store import EventRecord, Store
from tracker.tokens import Kind, Token, encode

FRESH_START = NOW - timedelta(hours=20)  # "fresh" is in its first 48 hours
LONG_NAME = "Winter clearance for returning customers in the northern region"
MARKUP_CAMPAIGN = '<b onmouseover="window.__xss=5">odd</b>'
MARKUP_VARIANT = '<img src=x onerror="window.__xss=6">'
COMPANY = "Müller & Söhne <GmbH>"
WEIGHTS = {"spring": {"a": 3, "b": 1}, "fresh": {"blue": 2, "green": 1, "red": 1}}


async def seed_layout(store: Store) -> None:
    await seed(store)
    fresh = [
        copy(200 + n, campaign="fresh", variant="blue" if n % 3 else "green", sent_at=FRESH_START)
        for n in range(30)
    ]
    await store.record_copies([*fresh, copy(300, campaign=MARKUP_CAMPAIGN, variant=MARKUP_VARIANT)])
    # Impressions spread over the first 19 hours, clicks over 15: a shape per hour.
    await store.record_events(
        [
            EventRecord(f"{200 + n:016x}", "impression", FRESH_START + timedelta(hours=n % 19))
            for n in range(30)
        ]
        + [
            EventRecord(
                f"{200 + n:016x}",
                "click",
                FRESH_START + timedelta(hours=2 + n % 15),
                target="https://example.com/x",
            )
            for n in range(0, 30, 2)
        ]
    )


async def serve_layout(tmp_path: Path, store: Store, company: str) -> AsyncIterator[Dashboard]:
    settings = dashboard_settings(
        store, campaign_names={**CAMPAIGNS, "fresh": LONG_NAME}, campaign_variants=WEIGHTS
    )
    optout = OptOutSettings(store, PSEUDONYM_KEY, require_consent=True, company=lambda: company)
    async for site in serve_dashboard(tmp_path, settings, optout):
        yield site


def optout_link(site: Dashboard, n: int = 1) -> str:
    return f"{site.url}/u/{encode(Token(Kind.OPTOUT, f'{n:016x}'), site.keyring)}"


async def log_in(page, site: Dashboard) -> None:
    await page.goto(f"{site.url}/admin/login")
    await page.fill('input[name="name"]', ADMIN)
    await page.fill('input[name="password"]', PASSWORD)
    await page.click('button[type="submit"]')
    await page.wait_for_url(f"{site.url}/admin/campaigns")


async def keep_screenshot(page, name: str) -> None:
    """With SIGRELAY_SCREENSHOTS=DIR, the whole page as DIR/NAME.png, to look at."""
    folder = os.environ.get("SIGRELAY_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)
