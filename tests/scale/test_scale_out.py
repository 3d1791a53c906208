"""Scale-out (DESIGN.md "Scale"): two relays and two trackers on loopback share
one PostgreSQL database; 1,000 messages go through both relays, every copy's
pixel and one link are fired alternately through both trackers, and the
totals come out exact."""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import smtplib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from config import Config, load_config
from exampleflow import SALES_SENDER, html_message
from mailparts import body_text, hrefs, tokens
from peers import PERSON, free_port, fresh_postgres_database
from sigrelay.service import Parts, Service
from smtpsink import SmtpSink
from tracker.store import Store

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example"
MESSAGES = 1000
SENDERS = 8  # concurrent SMTP clients
FIRERS = 32  # concurrent HTTP requests


@pytest.fixture
async def shared_database() -> AsyncIterator[str]:
    async with fresh_postgres_database("sigrelay_scale") as url:
        yield url


def node_config(tmp_path: Path, name: str, database: str, upstream: str, public: str) -> Config:
    """One node's config: its own data dir (spool), the shared store and public URL."""
    config_dir = tmp_path / name / "config"
    shutil.copytree(EXAMPLE, config_dir)
    env = {
        **os.environ,
        "SIGRELAY_DATA": str(tmp_path / name / "data"),
        "SIGRELAY_STORE__URL": database,
        "SIGRELAY_RELAY__LISTEN": f"127.0.0.1:{free_port()}",
        "SIGRELAY_TRACKER__LISTEN": f"127.0.0.1:{free_port()}",
        "SIGRELAY_TRACKER__PUBLIC_URL": public,
        "SIGRELAY_UPSTREAM__URL": upstream,
        # A test fires clicks within seconds of sending, as only scanners do in life.
        "SIGRELAY_TRACKER__SCANNER_CLICK_SECONDS": "0",
        # ... and clicks in every recipient's copy from one client, as only scanners do.
        "SIGRELAY_TRACKER__SCANNER_SPRAY_COPIES": "0",
    }
    return load_config(config_dir, env)


def send_share(cfg: Config, numbers: list[int]) -> None:
    """One mail client: a connection, several messages, one recipient each."""
    host, _, port = cfg.relay.listen.rpartition(":")
    with smtplib.SMTP(host, int(port), timeout=30) as client:
        for n in numbers:
            rcpt = f"r{n}@customer{n % 7}.test"
            client.sendmail(SALES_SENDER, [rcpt], html_message(SALES_SENDER, [rcpt]))


async def test_two_relays_and_two_trackers_count_exactly(
    tmp_path: Path, shared_database: str, monkeypatch: pytest.MonkeyPatch
):
    # Nodes share the signing and pseudonym keys, as a cluster must.
    monkeypatch.setenv("SIGRELAY_TOKEN_KEYS", "s1:" + "c2NhbGUtb3V0LXRlc3Qtc2lnbmluZy1rZXktMzJi")
    monkeypatch.setenv("SIGRELAY_PSEUDONYM_KEY", "c2NhbGUtb3V0LXRlc3QtcHNldWRvbnltLWtleQ==")
    sink = SmtpSink()
    await sink.start()
    public = "http://tracker.invalid"  # the load balancer; the test picks a tracker per request
    nodes = [
        Service(node_config(tmp_path, name, shared_database, sink.url, public), parts)
        for name, parts in [
            ("relay1", Parts(relay=True, tracker=False)),
            ("relay2", Parts(relay=True, tracker=False)),
            ("tracker1", Parts(relay=False, tracker=True)),
            ("tracker2", Parts(relay=False, tracker=True)),
        ]
    ]
    for node in nodes:
        await node.start()
    relays, trackers = nodes[:2], nodes[2:]
    try:
        shares = [list(range(MESSAGES))[i::SENDERS] for i in range(SENDERS)]
        clients = [
            asyncio.to_thread(send_share, relays[n % 2].cfg, part) for n, part in enumerate(shares)
        ]
        await asyncio.gather(*clients)
        received = await sink.handler.wait_for(MESSAGES, timeout=60)
        assert len(received) == MESSAGES

        tracker_urls = itertools.cycle([f"http://{t.cfg.tracker.listen}" for t in trackers])
        requests = []
        for copy in received:
            html = body_text(copy.data, "html")
            (pixel,) = tokens(html, "o")
            link = next(h for h in hrefs(html) if h.startswith(f"{public}/c/"))
            requests.append(f"{next(tracker_urls)}/o/{pixel}")
            requests.append(next(tracker_urls) + link.removeprefix(public))
        gate = asyncio.Semaphore(FIRERS)
        async with aiohttp.ClientSession(headers=PERSON) as http:

            async def fire(url: str) -> int:
                async with gate, http.get(url, allow_redirects=False) as response:
                    await response.read()
                    return response.status

            statuses = await asyncio.gather(*(fire(url) for url in requests))
        assert sorted(set(statuses)) == [200, 302]
    finally:
        for node in reversed(nodes):
            await node.stop()  # trackers flush their writers; relays their sent facts
        await sink.stop()

    store = await Store.open(shared_database)
    try:
        totals = (await store.stats())["totals"]
        by_domain = (await store.stats(by="domain"))["rows"]
    finally:
        await store.close()
    assert (totals["sent"], totals["opens"], totals["unique_opens"]) == (MESSAGES,) * 3
    assert (totals["clicks"], totals["unique_clicks"]) == (MESSAGES, MESSAGES)
    assert totals["machine"] == {"opens": 0, "clicks": 0}
    assert sum(row["sent"] for row in by_domain) == MESSAGES and len(by_domain) == 7
