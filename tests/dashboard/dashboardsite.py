"""The dashboard tests' site: a tracker with the dashboard on loopback, known rows,
and an HTTP client that logs in like a browser (shared with tests/browser/)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from aiohttp import web

from peers import free_port
from tracker.app import make_app
from tracker.dashboard import DashboardSettings
from tracker.dashboard.auth import (
    Admins,
    ApiTokens,
    LoginThrottle,
    Sessions,
    hash_api_token,
    hash_password,
)
from tracker.events import HitReader, LocalEvents
from tracker.optout import OptOutSettings
from tracker.store import CopyRecord, EventRecord, Store
from tracker.store.throttle import Throttle
from tracker.tokens import Keyring
from tracker.writer import EventWriter

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
ADMIN, PASSWORD = "alice", "correct horse battery staple"
API_TOKEN = "srt_test-token-for-the-dashboard-tests"
PSEUDONYM_KEY = b"dashboard-tests-pseudonym-key!!!"
CAMPAIGNS = {"spring": "Spring sale", "autumn": "Autumn fair"}
# Recipient-controlled strings that a careless page would turn into markup.
XSS_RECIPIENT = '"<script>window.__xss=1</script>"@evil.test'
XSS_TARGET = 'https://evil.test/?q="><img src=x onerror="window.__xss=2">'

_PASSWORD_HASH = hash_password(PASSWORD)


def copy(n: int, *, campaign: str | None = "spring", variant: str = "a", **fields) -> CopyRecord:
    values = {
        "copy_id": f"{n:016x}",
        "queue_id": f"q{n}",
        "sent_at": NOW - timedelta(days=2),
        "sender": "anna@example.com",
        "group": "sales",
        "privacy": "personal",
        "campaign": campaign,
        "variant": variant,
        "recipient": f"r{n}@customer.test",
        "domain": "customer.test",
    }
    return CopyRecord(**(values | fields))


def event(n: int, kind: str, days_ago: int = 1, **fields) -> EventRecord:
    return EventRecord(f"{n:016x}", kind, NOW - timedelta(days=days_ago), **fields)


@dataclass
class Dashboard:
    url: str
    store: Store
    http: aiohttp.ClientSession
    app: web.Application
    writer: LocalEvents
    keyring: Keyring

    async def login(self, name: str = ADMIN, password: str = PASSWORD) -> aiohttp.ClientResponse:
        form = {"name": name, "password": password}
        async with self.http.post(f"{self.url}/admin/login", data=form) as response:
            await response.read()
            return response

    async def page(self, path: str) -> tuple[aiohttp.ClientResponse, str]:
        async with self.http.get(f"{self.url}{path}", allow_redirects=False) as response:
            return response, await response.text()

    async def csrf(self, path: str = "/admin/privacy") -> str:
        _, html = await self.page(path)
        match = re.search(r'name="csrf" value="([^"]+)"', html)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    async def post(self, path: str, form: dict[str, str]) -> tuple[aiohttp.ClientResponse, str]:
        async with self.http.post(f"{self.url}{path}", data=form, allow_redirects=False) as resp:
            return resp, await resp.text()

    async def api(self, path: str, token: str | None = API_TOKEN) -> tuple[int, dict]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.get(f"{self.url}/api/v1{path}", headers=headers) as response:
            return response.status, await response.json()


def dashboard_settings(store: Store, **overrides) -> DashboardSettings:
    values = {
        "store": store,
        "admins": Admins({ADMIN: _PASSWORD_HASH}),
        "api_tokens": ApiTokens([("ci", hash_api_token(API_TOKEN))]),
        "sessions": Sessions(b"dashboard-tests-session-key-32b!"),
        "login_throttle": LoginThrottle(Throttle(store)),
        "campaign_names": CAMPAIGNS,
        "pseudonym_key": PSEUDONYM_KEY,
        "public_url": "http://127.0.0.1",
        "clock": lambda: NOW,
    }
    return DashboardSettings(**(values | overrides))


async def serve_dashboard(
    tmp_path: Path, settings: DashboardSettings, optout: OptOutSettings | None = None
) -> AsyncIterator[Dashboard]:
    """The dashboard on loopback; with `optout`, the opt-out page (/u/…) too."""
    keyring = Keyring({"t1": b"dashboard-tests-signing-key-!!!!"}, current="t1")
    writer = LocalEvents(
        EventWriter(settings.store, tmp_path / "events.journal", flush_interval=3600),
        HitReader(keyring),
    )
    await writer.start()
    app = make_app(
        keyring, writer, lambda c, v: None, clock=lambda: NOW, dashboard=settings, optout=optout
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    # unsafe=True: aiohttp keeps no cookies for IP-address hosts otherwise.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        yield Dashboard(f"http://127.0.0.1:{port}", settings.store, http, app, writer, keyring)
    await runner.cleanup()
    await writer.close()


async def seed(store: Store) -> Store:
    """Campaign spring: variant a (10 copies, 1 clicked) and b (10 copies, 6 clicked);
    in autumn one copy to an address and with a link target that carry markup; opt-outs;
    landing pages: copy 10 visited twice (a link clicked, a file downloaded), copy 11 once."""
    await store.record_copies(
        [copy(n, variant="a") for n in range(10)]
        + [copy(n, variant="b") for n in range(10, 20)]
        + [copy(99, campaign="autumn", recipient=XSS_RECIPIENT, domain="evil.test")]
    )
    await store.record_events(
        [event(n, "impression") for n in range(20)]
        + [event(0, "click", target="https://example.com/a")]
        + [event(n, "click", target="https://example.com/b") for n in range(10, 16)]
        + [event(n, "open", days_ago=d) for n, d in ((1, 1), (2, 2), (11, 3))]
        + [event(99, "click", target=XSS_TARGET), event(3, "optout"), event(99, "optout")]
        + [event(10, "visit", target="https://shop.example/b"), event(11, "visit")]
        + [event(10, "visit", days_ago=0), event(10, "link"), event(10, "download")]
    )
    return store
