"""/metrics: the relay's and the writer's figures, for Prometheus on allowed networks only."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import aiohttp
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter

from peers import free_port
from tracker import metrics
from tracker.store import Store
from tracker.writer import EventWriter


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
