"""A tracker with the opt-out page asking for consent (privacy.require_consent),
on loopback, over a real SQLite store: for the consent page tests, HTTP and browser."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from peers import free_port
from tracker.app import make_app
from tracker.events import HitReader, LocalEvents
from tracker.optout import OptOutSettings
from tracker.store import CopyRecord, Store
from tracker.store.withdrawal import Withdrawal
from tracker.tokens import Keyring, Kind, Token, encode
from tracker.writer import EventWriter

KEY = b"consent-tests-pseudonym-key-0001"
KEYRING = Keyring({"t1": b"consent-tests-signing-key-bytes!"}, current="t1")
KIM = "kim@customer.test"
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
COPY = CopyRecord(
    "00112233445566a7", "q1", datetime(2026, 4, 1, 9, 0, tzinfo=UTC), "ann@corp.example",
    "sales", "personal", "spring", "a", KIM, "customer.test",
)  # fmt: skip


@dataclass
class Site:
    url: str
    store: Store
    writer: LocalEvents

    @property
    def link(self) -> str:
        return f"{self.url}/u/{encode(Token(Kind.OPTOUT, COPY.copy_id), KEYRING)}"


async def serve(tmp_path: Path, without_consent: str = "anonymous") -> AsyncIterator[Site]:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    await store.upgrade()
    await store.record_copies([COPY])
    store = Store(store.engine, withdrawal=Withdrawal(KEY, refresh_seconds=0))
    writer = LocalEvents(
        EventWriter(store, tmp_path / "events.journal", flush_interval=3600), HitReader(KEYRING)
    )
    await writer.start()
    settings = OptOutSettings(store, KEY, require_consent=True, without_consent=without_consent)
    app = make_app(KEYRING, writer, lambda c, v: None, optout=settings, clock=lambda: NOW)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield Site(f"http://127.0.0.1:{port}", store, writer)
    await runner.cleanup()
    await writer.close()
    await store.close()
