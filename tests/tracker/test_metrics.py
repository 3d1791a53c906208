"""/metrics: the relay's and the writer's figures, for Prometheus on allowed networks only."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter

from peers import free_port
from tests.tracker.sinks import SINKS
from tracker import metrics
from tracker.app import REFUSED_TOKENS, make_app
from tracker.events import HitReader
from tracker.store import Store
from tracker.tokens import Keyring, Kind, Token, encode
from tracker.writer import EventWriter

COPY = "00112233445566cc"


async def _serve(tmp_path: Path, allowed) -> tuple[web.AppRunner, str, EventWriter, Store]:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    await store.upgrade()
    writer = EventWriter(store, tmp_path / "journal")
    relay = CollectorRegistry()
    Counter("sigrelay_test_accepted", "Stands in for the relay's counters.", registry=relay).inc(3)
    app = web.Application()
    metrics.add_routes(app, [relay, metrics.tracker_registry(writer)], allowed)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}/metrics", writer, store


async def test_metrics_show_relay_counters_and_the_event_writer(tmp_path: Path):
    runner, url, writer, store = await _serve(tmp_path, metrics.LOOPBACK)
    try:
        async with aiohttp.ClientSession() as http, http.get(url) as resp:
            body = await resp.text()
        assert resp.status == 200 and resp.content_type == "text/plain"
        assert "sigrelay_test_accepted_total 3.0" in body
        assert "sigrelay_events_journaled 0.0" in body
        assert "sigrelay_events_written_total 0.0" in body
    finally:
        await runner.cleanup()
        await store.close()


async def test_metrics_refuse_clients_outside_the_allowed_networks(tmp_path: Path):
    runner, url, _, store = await _serve(tmp_path, [ipaddress.ip_network("10.0.0.0/8")])
    headers = {"X-Forwarded-For": "10.1.2.3"}  # a header must not open the door
    try:
        async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as resp:
            body = await resp.text()
        assert resp.status == 403
        assert "sigrelay_" not in body
    finally:
        await runner.cleanup()
        await store.close()


@pytest.mark.parametrize("sink", SINKS)
async def test_tokens_that_are_not_ours_are_counted_wherever_they_are_found(
    tmp_path: Path, keyring: Keyring, forger: Keyring, sink
):
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    await store.upgrade()
    writer = sink(store, tmp_path / "journal", HitReader(keyring))
    app = make_app(keyring, writer, lambda c, v: None)
    metrics.add_routes(app, [metrics.tracker_registry(writer, app[REFUSED_TOKENS])])
    await writer.start()
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    base = f"http://127.0.0.1:{port}"
    link = "https://example.com/"
    paths = [
        f"/o/{encode(Token(Kind.OPEN, COPY), keyring)}",  # ours: not counted
        f"/c/{encode(Token(Kind.CLICK, COPY, link), keyring)}",  # ours: not counted
        f"/o/{encode(Token(Kind.OPEN, COPY), forger)}",  # read as a hit, refused
        "/o/" + "x" * 100,  # too long to be a pixel token
        f"/c/{encode(Token(Kind.CLICK, COPY, link), forger)}",  # a known link: read as a hit
        f"/c/{encode(Token(Kind.CLICK, COPY, 'https://evil.example/'), forger)}",  # 400
        f"/b/{encode(Token(Kind.BANNER, COPY, 'spring/a'), forger)}",  # 404
    ]
    try:
        async with aiohttp.ClientSession() as http:
            for path in paths:
                async with http.get(base + path, allow_redirects=False) as resp:
                    assert resp.status in (200, 302, 400, 404)
            await writer.flush()
            async with http.get(f"{base}/metrics") as resp:
                body = await resp.text()
        assert "sigrelay_tracker_refused_tokens_total 5.0" in body
        assert "sigrelay_events_written_total 2.0" in body
    finally:
        await runner.cleanup()
        await writer.close()
        await store.close()
