"""The tracker over loopback HTTP: what it keeps of the client's address, and
how the address and agent decide the verdict. With the writer in the tracker's
process (hits read by the handlers) and in its own (hits read there, as in
production)."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select

from peers import free_port
from tests.tracker.sinks import SINKS
from tracker.app import make_app
from tracker.classify import load_classifier
from tracker.clientip import ClientAddresses
from tracker.events import HitReader
from tracker.store import Store
from tracker.store.models import events
from tracker.tokens import Keyring, Kind, Token, encode

COPY = "00112233445566bb"
SAFARI = "Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 Version/17.0 Safari/605.1.15"
LOOPBACK = ipaddress.ip_network("127.0.0.0/8")


@pytest.fixture(params=SINKS)
async def tracker(
    request: pytest.FixtureRequest, tmp_path: Path, keyring: Keyring
) -> AsyncIterator[Callable]:
    """Start a tracker that reads hits with these options; returns (url, rows)."""
    cleanup: list = []

    async def start(
        classifier=None, addresses: ClientAddresses | None = None, store_ip: str = "none"
    ):
        store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / f'{len(cleanup)}.db'}")
        await store.upgrade()
        reader = HitReader(
            keyring,
            classifier if classifier is not None else load_classifier(),
            addresses if addresses is not None else ClientAddresses(),
            store_ip == "truncated",
        )
        writer = request.param(store, tmp_path / f"{len(cleanup)}.journal", reader)
        app = make_app(keyring, writer, lambda c, v: None)
        await writer.start()
        runner = web.AppRunner(app)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        cleanup.append((runner, writer, store))

        async def fetch(headers: dict[str, str]) -> list[dict]:
            url = f"http://127.0.0.1:{port}/o/{encode(Token(Kind.OPEN, COPY), keyring)}"
            async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as resp:
                assert resp.status == 200
            await writer.flush()
            async with store.engine.connect() as conn:
                rows = await conn.execute(select(events.c.verdict, events.c.ip))
                return [dict(row) for row in rows.mappings()]

        return fetch

    yield start
    for runner, writer, store in cleanup:
        await runner.cleanup()
        await writer.close()
        await store.close()


async def test_by_default_no_address_is_stored(tracker):
    fetch = await tracker()
    assert await fetch({"User-Agent": SAFARI}) == [{"verdict": "human", "ip": None}]


async def test_truncated_addresses_keep_only_the_network(tracker):
    fetch = await tracker(store_ip="truncated")
    assert await fetch({"User-Agent": SAFARI}) == [{"verdict": "human", "ip": "127.0.0.0/24"}]


async def test_a_forwarded_address_counts_only_from_a_trusted_proxy(tracker):
    scanner_net = {"User-Agent": SAFARI, "X-Forwarded-For": "40.107.3.4"}
    untrusted = await tracker(store_ip="truncated")
    assert await untrusted(scanner_net) == [{"verdict": "human", "ip": "127.0.0.0/24"}]
    trusting = await tracker(store_ip="truncated", addresses=ClientAddresses([LOOPBACK]))
    assert await trusting(scanner_net) == [{"verdict": "scanner", "ip": "40.107.3.0/24"}]


async def test_an_admin_listed_network_decides_the_verdict(tracker, tmp_path: Path):
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "machines.toml").write_text(
        '[[network]]\ncidr = "127.0.0.0/8"\nverdict = "prefetch"\napplies_to = "images"\n'
    )
    fetch = await tracker(classifier=load_classifier(config_dir))
    # Apple Mail Privacy Protection's exact agent (tracker/classify.py)
    assert await fetch({"User-Agent": "Mozilla/5.0"}) == [{"verdict": "prefetch", "ip": None}]
