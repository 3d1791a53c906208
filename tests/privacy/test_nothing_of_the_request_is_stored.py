"""Bad input (issue 16): reasons, consent receipts and GPC handling never store
an IP address or a user agent. A tracker with all three at work takes
requests with a telltale agent, address headers and GPC; then every row of
every table is read and searched for them."""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).parent))

from consentsite import COPY, KEY, KEYRING  # noqa: E402

from peers import free_port  # noqa: E402
from tracker.app import make_app  # noqa: E402
from tracker.consent import STATEMENTS, text_version  # noqa: E402
from tracker.events import HitReader, LocalEvents  # noqa: E402
from tracker.landing import LandingSettings, visit_id  # noqa: E402
from tracker.optout import OptOutSettings  # noqa: E402
from tracker.store import Store  # noqa: E402
from tracker.store.models import metadata  # noqa: E402
from tracker.store.timing import TimingRules  # noqa: E402
from tracker.store.withdrawal import Withdrawal  # noqa: E402
from tracker.tokens import Kind, Token, encode  # noqa: E402
from tracker.writer import EventWriter  # noqa: E402

AGENTS = [
    # A person's browser, marked by a token no browser has: the word "Agent" would
    # make it a bot's (isbot's list), and the point is a person's HEAD request.
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; Telltale7Q3) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "curl/8.5.0 Telltale-Agent-7Q3",
    "Mozilla/5.0 (via ggpht.com GoogleImageProxy) Telltale-Agent-7Q3",
]
FORWARDED = "198.51.100.77, 203.0.113.9"
IPV4 = re.compile(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b")
ORIGIN = "https://www.example.com"  # landing events come from https origins only


async def test_no_row_holds_an_address_or_an_agent(tmp_path: Path):
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    await store.upgrade()
    await store.record_copies([COPY])
    store = Store(store.engine, timing=TimingRules(), withdrawal=Withdrawal(KEY, refresh_seconds=0))
    writer = LocalEvents(
        EventWriter(store, tmp_path / "events.journal", flush_interval=3600), HitReader(KEYRING)
    )
    await writer.start()
    app = make_app(
        KEYRING,
        writer,
        lambda c, v: None,
        optout=OptOutSettings(store, KEY, require_consent=True),
        landing=LandingSettings(lambda: ("example.com",)),
        clock=lambda: datetime(2026, 5, 1, 12, 0, tzinfo=UTC),
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    base = f"http://127.0.0.1:{port}"
    pixel = encode(Token(Kind.OPEN, COPY.copy_id), KEYRING)
    click = encode(Token(Kind.CLICK, COPY.copy_id, "https://www.example.com/a"), KEYRING)
    optout = encode(Token(Kind.OPTOUT, COPY.copy_id), KEYRING)
    visit = json.dumps({"vid": visit_id(COPY.copy_id, KEYRING), "type": "view", "url": ORIGIN})
    try:
        async with aiohttp.ClientSession() as http:
            for agent in AGENTS:
                headers = {"User-Agent": agent, "X-Forwarded-For": FORWARDED, "Sec-GPC": "1"}
                for method, path in (("GET", f"/o/{pixel}"), ("HEAD", f"/o/{pixel}"),
                                     ("GET", f"/c/{click}")):  # fmt: skip
                    async with http.request(
                        method, base + path, headers=headers, allow_redirects=False
                    ) as response:
                        assert response.status in (200, 302)
                landing = {**headers, "Origin": ORIGIN}
                async with http.post(f"{base}/t/e", data=visit, headers=landing) as response:
                    assert response.status == 204
            consent = {"consent": "give", "version": text_version(STATEMENTS["en"])}
            headers = {"User-Agent": AGENTS[0], "X-Forwarded-For": FORWARDED}
            async with http.post(f"{base}/u/{optout}", data=consent, headers=headers) as response:
                assert response.status == 200
        await writer.flush()
        dump = []
        async with store.engine.connect() as conn:
            for table in metadata.sorted_tables:
                for row in await conn.execute(select(table)):
                    dump.append(f"{table.name}: {tuple(row)}")
    finally:
        await runner.cleanup()
        await writer.close()
        await store.close()
    text = "\n".join(dump)
    assert "events:" in text and "consent_receipts:" in text, "something was stored"
    assert "scanner:agent" in text and "scanner:head" in text and "proxy:gmail" in text
    assert "telltale" not in text.lower()
    assert "Mozilla" not in text and "curl" not in text
    assert not IPV4.findall(text), "no address, full or truncated"
