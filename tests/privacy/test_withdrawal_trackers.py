"""Retroactive withdrawal across two trackers on one PostgreSQL (issue 16 item 6):
an opt-out on tracker A stops tracker B from storing later events from the
recipient's earlier copy within B's refresh interval, while the pixel and
the link keep working for the recipient."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select

from peers import free_port, fresh_postgres_database
from tracker.app import make_app
from tracker.events import HitReader, LocalEvents
from tracker.optout import OptOutSettings
from tracker.store import CopyRecord, Store
from tracker.store.models import events
from tracker.store.withdrawal import Withdrawal
from tracker.tokens import Keyring, Kind, Token, encode
from tracker.writer import EventWriter

KEY = b"privacy-tests-pseudonym-key-0002"
KEYRING = Keyring({"t1": b"privacy-tests-signing-key-bytes!"}, current="t1")
SENT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
OPTED_OUT_AT = SENT + timedelta(days=1)
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36"
KIM = CopyRecord(
    "00000000000000a1", "q1", SENT, "ann@corp.example", "sales", "personal", "spring", "a",
    "kim@customer.test", "customer.test",
)  # fmt: skip
LEE = CopyRecord(
    "00000000000000a2", "q1", SENT, "ann@corp.example", "sales", "personal", "spring", "a",
    "lee@other.test", "other.test",
)  # fmt: skip


@dataclass
class Tracker:
    url: str
    store: Store
    writer: LocalEvents
    now: list[float]  # the writer's monotonic clock, moved by the test


async def _tracker(tmp_path: Path, url: str, name: str, at: datetime) -> AsyncIterator[Tracker]:
    store = await Store.open(url)
    now = [0.0]
    store = Store(
        store.engine, withdrawal=Withdrawal(KEY, refresh_seconds=2.0, clock=lambda: now[0])
    )
    writer = LocalEvents(
        EventWriter(store, tmp_path / f"{name}.journal", flush_interval=3600), HitReader(KEYRING)
    )
    await writer.start()
    app = make_app(
        KEYRING, writer, lambda c, v: None, optout=OptOutSettings(store, KEY), clock=lambda: at
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield Tracker(f"http://127.0.0.1:{port}", store, writer, now)
    await runner.cleanup()
    await writer.close()
    await store.close()


@pytest.fixture
async def trackers(tmp_path: Path) -> AsyncIterator[tuple[Tracker, Tracker]]:
    async with fresh_postgres_database() as url:
        setup = await Store.open(url)
        await setup.upgrade()
        await setup.record_copies([KIM, LEE])
        await setup.close()
        later = OPTED_OUT_AT + timedelta(hours=1)
        async for a in _tracker(tmp_path, url, "a", OPTED_OUT_AT):
            async for b in _tracker(tmp_path, url, "b", later):
                yield a, b


async def _events_of(store: Store, copy_id: str) -> int:
    async with store.engine.connect() as conn:
        query = select(events.c.id).where(events.c.copy_id == copy_id, events.c.kind != "optout")
        return len((await conn.execute(query)).all())


async def _open_and_click(http: aiohttp.ClientSession, tracker: Tracker, copy: CopyRecord) -> None:
    pixel = encode(Token(Kind.OPEN, copy.copy_id), KEYRING)
    click = encode(Token(Kind.CLICK, copy.copy_id, "https://shop.test/offer"), KEYRING)
    headers = {"User-Agent": BROWSER}
    async with http.get(f"{tracker.url}/o/{pixel}", headers=headers) as response:
        assert response.status == 200 and response.content_type == "image/gif"
    async with http.get(
        f"{tracker.url}/c/{click}", headers=headers, allow_redirects=False
    ) as response:
        # The recipient's link keeps working, opted out or not.
        assert response.status == 302
        assert response.headers["Location"] == "https://shop.test/offer"


async def test_an_opt_out_on_one_tracker_stops_the_other_storing_earlier_copies_events(trackers):
    a, b = trackers
    async with aiohttp.ClientSession() as http:
        await _open_and_click(http, b, KIM)  # before the opt-out: counted, and B reads the list
        await b.writer.flush()
        assert await _events_of(b.store, KIM.copy_id) == 2
        optout = encode(Token(Kind.OPTOUT, KIM.copy_id), KEYRING)
        async with http.post(f"{a.url}/u/{optout}", data={"choice": "untracked"}) as response:
            assert response.status == 200
        b.now[0] += 2.0  # B's refresh interval: the bound on how long B may not know
        for _ in range(5):
            await _open_and_click(http, b, KIM)
            await _open_and_click(http, b, LEE)
        await b.writer.flush()
    assert await _events_of(b.store, KIM.copy_id) == 2, "nothing new from Kim's earlier copy"
    assert await _events_of(b.store, LEE.copy_id) == 10, "everyone else is counted as before"
    assert b.store.withdrawal is not None and b.store.withdrawal.dropped == 10
