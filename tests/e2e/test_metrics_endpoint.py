"""`sigrelay serve` exposes the relay's and the tracker's figures at /metrics."""

from __future__ import annotations

import aiohttp

from config import Config
from exampleflow import EXTERNAL, SALES_SENDER, relay
from sigrelay.service import Service
from smtpsink import SmtpSink


async def test_metrics_count_the_message_and_its_delivery(
    cfg: Config, service: Service, sink: SmtpSink
):
    await relay(cfg, SALES_SENDER, [EXTERNAL[0]])
    await sink.handler.wait_for(1)
    url = f"{cfg.tracker.public_url}/metrics"
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        body = await resp.text()
    assert resp.status == 200
    figures = dict(
        line.rsplit(" ", 1) for line in body.splitlines() if line and not line.startswith("#")
    )
    assert float(figures["sigrelay_messages_accepted_total"]) >= 1
    assert "sigrelay_events_written_total" in figures
    assert 'sigrelay_copies_rewrite_total{outcome="rewritten",reason=""}' in figures
