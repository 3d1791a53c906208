"""A tracker with landing pages enabled, and a company landing site, both on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web
from sqlalchemy import select

from peers import free_port
from tracker.app import make_app
from tracker.events import HitReader, LocalEvents
from tracker.landing import LandingSettings
from tracker.store import EventRecord, Store
from tracker.store.models import events
from tracker.tokens import Keyring
from tracker.writer import EventWriter

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


@dataclass
class LandingTracker:
    url: str
    writer: LocalEvents
    store: Store

    async def recorded(self) -> list[EventRecord]:
        await self.writer.flush()
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(select(events).order_by(events.c.id))).mappings()
            return [EventRecord(**{k: v for k, v in row.items() if k != "id"}) for row in rows]


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


@asynccontextmanager
async def landing_tracker(
    tmp_path: Path,
    keyring: Keyring,
    domains: tuple[str, ...] | Callable[[], tuple[str, ...]],
    *,
    allow_http: bool = False,
    clock: Callable[[], datetime] = lambda: NOW,
    gpc: str = "anonymous",
) -> AsyncIterator[LandingTracker]:
    """`domains`: the landing domains, or what the config says they are now;
    `allow_http`: http:// landing origins too (a development site); `gpc`: privacy.gpc."""
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    await store.upgrade()
    writer = LocalEvents(
        EventWriter(store, tmp_path / "events.journal", flush_interval=3600), HitReader(keyring)
    )
    await writer.start()
    app = make_app(
        keyring,
        writer,
        lambda c, v: None,
        clock=clock,
        landing=LandingSettings(
            domains if callable(domains) else lambda: domains,
            allow_http=lambda: allow_http,
            gpc=lambda: gpc,
        ),
    )
    runner, url = await serve(app)
    try:
        yield LandingTracker(url, writer, store)
    finally:
        await runner.cleanup()
        await writer.close()
        await store.close()


def landing_site(tracker_url: str) -> web.Application:
    """The company's site: a page that includes /t.js, a link and a PDF to download."""
    page = f"""<!doctype html><html><head><title>Spring</title>
<script src="{tracker_url}/t.js" async></script></head>
<body><h1>Spring offer</h1>
<a id="more" href="/more">More</a> <a id="pdf" href="/files/offer.pdf">Offer (PDF)</a>
</body></html>"""

    async def index(_request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html")

    async def more(_request: web.Request) -> web.Response:
        return web.Response(text="<!doctype html><p>more</p>", content_type="text/html")

    async def pdf(_request: web.Request) -> web.Response:
        return web.Response(body=b"%PDF-1.4\n%%EOF\n", content_type="application/pdf")

    app = web.Application()
    app.router.add_get("/spring", index)
    app.router.add_get("/more", more)
    app.router.add_get("/files/offer.pdf", pdf)
    return app
