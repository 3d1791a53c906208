"""Key rotation through the real tracker, and the short tokens of the contract."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from aiohttp import web

from peers import free_port
from tracker.app import make_app
from tracker.events import HitReader, LocalEvents
from tracker.store import Store
from tracker.tokens import Keyring, Kind, Token, encode, new_copy_id
from tracker.writer import EventWriter

OLD = Keyring({"old": b"the-key-that-signed-last-year!!"}, current="old")
ROTATED = Keyring({"new": b"the-key-that-signs-from-today!!", **OLD.keys}, current="new")
TARGET = "https://shop.example/offer?id=7"


async def test_after_rotation_new_and_old_links_both_redirect(tmp_path: Path):
    copy_id = new_copy_id()
    old_link = encode(Token(Kind.CLICK, copy_id, TARGET), OLD)
    new_link = encode(Token(Kind.CLICK, copy_id, TARGET), ROTATED)
    assert old_link.startswith("old.") and new_link.startswith("new.")

    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    await store.upgrade()
    writer = LocalEvents(EventWriter(store, tmp_path / "events.journal"), HitReader(ROTATED))
    await writer.start()
    runner = web.AppRunner(make_app(ROTATED, writer, lambda c, v: None))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with aiohttp.ClientSession() as http:
            for link in (old_link, new_link):
                url = f"http://127.0.0.1:{port}/c/{link}"
                async with http.get(url, allow_redirects=False) as resp:
                    assert (resp.status, resp.headers["Location"]) == (302, TARGET)
    finally:
        await runner.cleanup()
        await writer.close()
        await store.close()
    assert writer.written == 2


def test_pixel_and_optout_tokens_fit_in_40_characters_even_with_a_4_char_key_id():
    keyring = Keyring({"k999": b"a-sixteen+-byte-secret-for-tests"}, current="k999")
    for kind in (Kind.OPEN, Kind.OPTOUT):
        for _ in range(200):
            assert len(encode(Token(kind, new_copy_id()), keyring)) <= 40
