"""`/i/<name>`: signature images over real HTTP, cacheable and never counted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select

from config.images import ImageFolders
from peers import PERSON, free_port
from tracker.app import make_app
from tracker.events import HitReader, LocalEvents
from tracker.store import Store
from tracker.store.models import events
from tracker.tokens import Keyring
from tracker.writer import EventWriter

LOGO = b"\x89PNG\r\n\x1a\n" + b"company logo"
PHOTO = b"\xff\xd8\xff\xe0" + b"anna"


@pytest.fixture
async def tracker(tmp_path: Path, keyring: Keyring) -> AsyncIterator[tuple]:
    images, photos = tmp_path / "config" / "images", tmp_path / "directory" / "photos"
    images.mkdir(parents=True)
    photos.mkdir(parents=True)
    (images / "logo.png").write_bytes(LOGO)
    (images / "drawing.svg").write_bytes(b"<svg onload='alert(1)'/>")
    (photos / "0f1e2d.jpg").write_bytes(PHOTO)
    (tmp_path / "config" / "secret.png").write_bytes(LOGO)
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'events.db'}")
    await store.upgrade()
    writer = LocalEvents(
        EventWriter(store, tmp_path / "events.journal", flush_interval=3600), HitReader(keyring)
    )
    await writer.start()
    folders = ImageFolders(images, photos)
    app = make_app(keyring, writer, lambda _c, _v: None, images=folders.find)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}", store, writer
    await runner.cleanup()
    await writer.close()
    await store.close()


async def _get(url: str, **headers: str) -> tuple[int, dict, bytes]:
    async with (
        aiohttp.ClientSession(headers=PERSON) as http,
        http.get(url, headers=headers) as response,
    ):
        return response.status, response.headers.copy(), await response.read()


async def test_a_logo_is_served_cacheable_with_an_etag(tracker):
    url, _, _ = tracker
    status, headers, body = await _get(f"{url}/i/logo.png")
    assert (status, body, headers["Content-Type"]) == (200, LOGO, "image/png")
    assert headers["Cache-Control"] == "public, max-age=86400"
    assert headers["X-Content-Type-Options"] == "nosniff"
    again, _, empty = await _get(f"{url}/i/logo.png", **{"If-None-Match": headers["ETag"]})
    assert (again, empty) == (304, b"")


async def test_a_directory_photo_is_served(tracker):
    url, _, _ = tracker
    status, headers, body = await _get(f"{url}/i/0f1e2d.jpg")
    assert (status, body, headers["Content-Type"]) == (200, PHOTO, "image/jpeg")


@pytest.mark.parametrize(
    "path",
    ["unknown.png", "..%2Fsecret.png", "%2E%2E%2Fsecret.png", "drawing.svg", "..", "logo.PNG%00"],
)
async def test_unknown_traversal_and_svg_are_404(tracker, path):
    url, _, _ = tracker
    status, _, body = await _get(f"{url}/i/{path}")
    assert status == 404 and LOGO not in body


async def test_serving_images_stores_no_event(tracker):
    url, store, writer = tracker
    for _ in range(3):
        assert (await _get(f"{url}/i/logo.png"))[0] == 200
    await writer.flush()
    async with store.engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(events))).scalar() == 0
