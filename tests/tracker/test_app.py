"""The tracker over real HTTP on loopback, recording into a real SQLite store."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select

from peers import PERSON, free_port
from tracker.app import PIXEL_GIF, make_app
from tracker.events import HitReader, LocalEvents
from tracker.store import EventRecord, Store
from tracker.store.models import events
from tracker.tokens import Keyring, Kind, Token, encode
from tracker.writer import EventWriter

COPY = "00112233445566aa"
NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
BANNER_BYTES = b"\x89PNG\r\n\x1a\n" + b"spring banner, variant a"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
GMAIL_PROXY = (
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
)


@dataclass
class Tracker:
    url: str
    keyring: Keyring
    writer: LocalEvents
    store: Store
    database: Path
    http: aiohttp.ClientSession

    def path(self, token: Token) -> str:
        return f"{self.url}/{token.kind.value}/{encode(token, self.keyring)}"

    async def get(self, url: str, **kwargs) -> tuple[aiohttp.ClientResponse, bytes]:
        async with self.http.get(url, allow_redirects=False, **kwargs) as response:
            return response, await response.read()

    async def recorded(self) -> list[EventRecord]:
        await self.writer.flush()
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(select(events).order_by(events.c.id))).mappings()
            return [EventRecord(**{k: v for k, v in row.items() if k != "id"}) for row in rows]


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


async def _tracker(tmp_path: Path, keyring: Keyring, database: Path) -> AsyncIterator[Tracker]:
    banners = tmp_path / "banners"
    banners.mkdir(exist_ok=True)
    (banners / "spring-a.png").write_bytes(BANNER_BYTES)

    def banner_file(campaign: str, variant: str) -> Path | None:
        return banners / f"{campaign}-{variant}.png" if campaign == "spring" else None

    store = await Store.open(f"sqlite+aiosqlite:///{database}")
    writer = LocalEvents(
        EventWriter(store, tmp_path / "events.journal", flush_interval=3600), HitReader(keyring)
    )
    await writer.start()
    runner, url = await _serve(make_app(keyring, writer, banner_file, clock=lambda: NOW))
    async with aiohttp.ClientSession(headers=PERSON) as http:
        yield Tracker(url, keyring, writer, store, database, http)
    await runner.cleanup()
    await writer.close()
    await store.close()


@pytest.fixture
async def tracker(tmp_path: Path, keyring: Keyring) -> AsyncIterator[Tracker]:
    database = tmp_path / "store.db"
    store = await Store.open(f"sqlite+aiosqlite:///{database}")
    await store.upgrade()
    await store.close()
    async for running in _tracker(tmp_path, keyring, database):
        yield running


@pytest.fixture
async def tracker_without_store(tmp_path: Path, keyring: Keyring) -> AsyncIterator[Tracker]:
    """A tracker whose database cannot be opened (its directory does not exist)."""
    async for running in _tracker(tmp_path, keyring, tmp_path / "gone" / "store.db"):
        yield running


# --- pixel ---------------------------------------------------------------------------


async def test_pixel_is_a_transparent_43_byte_gif_that_no_cache_keeps(tracker: Tracker):
    response, body = await tracker.get(tracker.path(Token(Kind.OPEN, COPY)))
    assert (response.status, response.content_type) == (200, "image/gif")
    assert body == PIXEL_GIF and len(body) == 43
    assert "no-store" in response.headers["Cache-Control"]


async def test_pixel_of_a_valid_token_records_an_open_at_the_time_of_the_request(
    tracker: Tracker,
):
    await tracker.get(tracker.path(Token(Kind.OPEN, COPY)), headers={"User-Agent": FIREFOX})
    assert await tracker.recorded() == [EventRecord(COPY, "open", NOW, "human")]


async def test_pixel_fetched_by_gmails_image_proxy_is_a_proxy_open(tracker: Tracker):
    await tracker.get(tracker.path(Token(Kind.OPEN, COPY)), headers={"User-Agent": GMAIL_PROXY})
    assert [e.verdict for e in await tracker.recorded()] == ["proxy"]


@pytest.mark.parametrize("token", ["t1.AAAAAAAAAAAAAAAAAAAAAAAAAAA", "garbage", "x" * 5000])
async def test_forged_pixel_still_gets_the_gif_but_records_nothing(tracker: Tracker, token: str):
    response, body = await tracker.get(f"{tracker.url}/o/{token}")
    assert (response.status, body) == (200, PIXEL_GIF)
    assert await tracker.recorded() == []


async def test_a_click_token_on_the_pixel_path_records_nothing(tracker: Tracker):
    click = Token(Kind.CLICK, COPY, "https://example.com/")
    await tracker.get(f"{tracker.url}/o/{encode(click, tracker.keyring)}")
    assert await tracker.recorded() == []


# --- click ---------------------------------------------------------------------------


async def test_click_redirects_with_302_to_the_target_and_records_it(tracker: Tracker):
    target = "https://shop.example/spring?utm_source=mail&x=1#offer"
    response, _ = await tracker.get(tracker.path(Token(Kind.CLICK, COPY, target)))
    assert (response.status, response.headers["Location"]) == (302, target)
    assert await tracker.recorded() == [EventRecord(COPY, "click", NOW, "human", target)]


async def test_click_on_a_non_ascii_target_redirects_percent_encoded(tracker: Tracker):
    response, _ = await tracker.get(
        tracker.path(Token(Kind.CLICK, COPY, "https://example.com/über?q=ä"))
    )
    assert response.headers["Location"] == "https://example.com/%C3%BCber?q=%C3%A4"


async def test_a_head_request_on_a_link_is_a_scanner_click(tracker: Tracker):
    async with tracker.http.head(
        tracker.path(Token(Kind.CLICK, COPY, "https://example.com/")), allow_redirects=False
    ) as response:
        assert response.status == 302
    assert [(e.kind, e.verdict) for e in await tracker.recorded()] == [("click", "scanner")]


@pytest.mark.parametrize(
    "path",
    [
        "/c/t1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "/c/" + "x" * 5000,
        "/c/not-a-token",
    ],
)
async def test_click_on_a_forged_token_is_a_plain_400_page_and_no_redirect(
    tracker: Tracker, path: str
):
    response, body = await tracker.get(tracker.url + path)
    assert response.status == 400 and "Location" not in response.headers
    assert response.content_type == "text/plain" and b"not valid" in body
    assert await tracker.recorded() == []


async def test_click_on_an_altered_token_does_not_redirect(tracker: Tracker):
    url = tracker.path(Token(Kind.CLICK, COPY, "https://example.com/"))
    altered = url[:-2] + ("B" if url[-2] != "B" else "C") + url[-1]
    response, _ = await tracker.get(altered)
    assert response.status == 400 and "Location" not in response.headers


OTHER_COPY = "ffeeddccbbaa9988"


async def test_a_forged_token_for_a_link_clicked_before_leads_there_and_counts_nothing(
    tracker: Tracker, forger: Keyring
):
    target = "https://example.com/offer"
    real, _ = await tracker.get(tracker.path(Token(Kind.CLICK, COPY, target)))
    forged_token = encode(Token(Kind.CLICK, OTHER_COPY, target), forger)
    forged, _ = await tracker.get(f"{tracker.url}/c/{forged_token}")
    # Anyone with the mail may follow its links; nobody may count a click for a copy.
    assert [(r.status, r.headers["Location"]) for r in (real, forged)] == [(302, target)] * 2
    assert await tracker.recorded() == [EventRecord(COPY, "click", NOW, "human", target)]


async def test_a_known_links_token_padded_out_is_refused(tracker: Tracker, forger: Keyring):
    # Its hit would wait in memory for the writer: no longer than a genuine one.
    target = "https://example.com/offer"
    await tracker.get(tracker.path(Token(Kind.CLICK, COPY, target)))
    key_id, _, encoded = encode(Token(Kind.CLICK, OTHER_COPY, target), forger).partition(".")
    padded = f"{key_id}.{encoded[:12]}{'~' * 4000}{encoded[12:]}"  # base64 decoders skip ~
    response, _ = await tracker.get(f"{tracker.url}/c/{padded}")
    assert response.status == 400


async def test_a_forged_token_for_another_link_is_refused_after_a_real_click(
    tracker: Tracker, forger: Keyring
):
    await tracker.get(tracker.path(Token(Kind.CLICK, COPY, "https://example.com/offer")))
    forged_token = encode(Token(Kind.CLICK, COPY, "https://evil.example/offer"), forger)
    response, _ = await tracker.get(f"{tracker.url}/c/{forged_token}")
    assert response.status == 400 and "Location" not in response.headers


async def test_links_clicked_long_ago_are_checked_again(
    tracker: Tracker, forger: Keyring, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr("tracker.app.MAX_KNOWN_LINKS", 2)
    first = "https://example.com/1"
    for target in (first, "https://example.com/2", "https://example.com/3"):
        await tracker.get(tracker.path(Token(Kind.CLICK, COPY, target)))
    forged_token = encode(Token(Kind.CLICK, OTHER_COPY, first), forger)
    response, _ = await tracker.get(f"{tracker.url}/c/{forged_token}")
    assert response.status == 400, "the oldest link is forgotten: its tokens are checked again"
    again, _ = await tracker.get(tracker.path(Token(Kind.CLICK, OTHER_COPY, first)))
    assert (again.status, again.headers["Location"]) == (302, first)


@pytest.mark.parametrize(
    "target",
    [
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "mailto:someone@example.com",
        "//evil.example/",
        "https://example.com/\r\nSet-Cookie: a=b",
        "https:///no-host",
    ],
)
async def test_a_signed_target_that_is_not_a_web_address_is_not_followed(
    tracker: Tracker, target: str
):
    response, _ = await tracker.get(tracker.path(Token(Kind.CLICK, COPY, target)))
    assert response.status == 400 and "Location" not in response.headers
    assert await tracker.recorded() == []


async def test_links_and_pixels_keep_working_while_the_store_is_down(
    tracker_without_store: Tracker,
):
    tracker = tracker_without_store
    click, _ = await tracker.get(tracker.path(Token(Kind.CLICK, COPY, "https://example.com/")))
    pixel, body = await tracker.get(tracker.path(Token(Kind.OPEN, COPY)))
    assert (click.status, click.headers["Location"]) == (302, "https://example.com/")
    assert (pixel.status, body) == (200, PIXEL_GIF)
    await tracker.writer.flush()
    assert tracker.writer.journaled == 2, "the events wait in the journal"


# --- banner --------------------------------------------------------------------------


async def test_banner_serves_the_variant_image_and_records_an_impression(tracker: Tracker):
    response, body = await tracker.get(tracker.path(Token(Kind.BANNER, COPY, "spring/a")))
    assert (response.status, response.content_type, body) == (200, "image/png", BANNER_BYTES)
    assert "no-store" in response.headers["Cache-Control"]
    assert await tracker.recorded() == [EventRecord(COPY, "impression", NOW, "human")]


@pytest.mark.parametrize("target", ["autumn/a", "spring/zz"])
async def test_banner_of_an_unknown_campaign_or_variant_is_404(tracker: Tracker, target: str):
    response, _ = await tracker.get(tracker.path(Token(Kind.BANNER, COPY, target)))
    assert response.status == 404
    assert await tracker.recorded() == []


async def test_banner_with_a_forged_token_is_404(tracker: Tracker):
    response, _ = await tracker.get(f"{tracker.url}/b/t1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    assert response.status == 404


# --- health and privacy -------------------------------------------------------------


async def test_healthz_reports_ok_with_a_reachable_store(tracker: Tracker):
    async with tracker.http.get(f"{tracker.url}/healthz") as response:
        assert response.status == 200
        assert (await response.json())["status"] == "ok"
        assert (await response.json())["store"] == "ok"


async def test_healthz_reports_a_degraded_tracker_while_the_store_is_down(
    tracker_without_store: Tracker,
):
    async with tracker_without_store.http.get(f"{tracker_without_store.url}/healthz") as resp:
        body = await resp.json()
    assert resp.status == 200, "still serving: links and pixels work, events are journaled"
    assert (body["status"], body["store"]) == ("degraded", "unreachable")


async def test_no_ip_address_reaches_the_store(tracker: Tracker):
    headers = {"User-Agent": FIREFOX, "X-Forwarded-For": "203.0.113.9"}
    await tracker.get(tracker.path(Token(Kind.OPEN, COPY)), headers=headers)
    await tracker.get(tracker.path(Token(Kind.CLICK, COPY, "https://example.com/")))
    await tracker.writer.flush()
    dump = "\n".join(sqlite3.connect(tracker.database).iterdump())
    assert "127.0.0.1" not in dump and "203.0.113.9" not in dump
    assert COPY in dump, "the events themselves were stored"
