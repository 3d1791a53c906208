"""End to end through the tracker's HTTP: a consented recipient clicks a topic's
link and their interest profile gains the topic; a recipient without consent
clicking the same link gains nothing. With hits read in the tracker's process
and in the event writer's process (as the service runs it)."""

from __future__ import annotations

import dataclasses
import sys
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).parent))

from consentsite import COPY, KEY, KEYRING, KIM, NOW  # noqa: E402

from peers import free_port  # noqa: E402
from tests.tracker.sinks import SINKS  # noqa: E402
from tracker.app import make_app  # noqa: E402
from tracker.events import HitReader  # noqa: E402
from tracker.recipients import recipient_key  # noqa: E402
from tracker.store import Store  # noqa: E402
from tracker.store.interests import InterestRules, Interests  # noqa: E402
from tracker.store.models import interest_profiles  # noqa: E402
from tracker.store.optout import add_consent  # noqa: E402
from tracker.store.withdrawal import Withdrawal  # noqa: E402
from tracker.tokens import Kind, Token, encode  # noqa: E402

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
LEE = "lee@customer.test"
LEES_COPY = dataclasses.replace(COPY, copy_id="00112233445566b8", recipient=LEE)
PUMPS = "https://www.example.com/pumps/p100"
RULES = InterestRules(links=(("https://www.example.com/pumps", "pumps"),))


@pytest.mark.parametrize("sink", SINKS)
async def test_a_consented_recipients_click_on_a_topic_link_builds_their_profile(
    tmp_path: Path, sink
):
    url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    setup = await Store.open(url)
    await setup.upgrade()
    await setup.record_copies([COPY, LEES_COPY])
    await add_consent(setup, recipient_key(KIM, KEY), NOW - timedelta(hours=1))
    await setup.close()
    store = await Store.open(
        url, withdrawal=Withdrawal(KEY, refresh_seconds=0), interests=Interests(RULES, KEY)
    )
    events = sink(store, tmp_path / "events.journal", HitReader(KEYRING), flush_interval=3600)
    await events.start()
    app = make_app(KEYRING, events, lambda c, v: None, clock=lambda: NOW)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with aiohttp.ClientSession(headers={"User-Agent": FIREFOX}) as client:
            for copy_id in (COPY.copy_id, LEES_COPY.copy_id):
                token = encode(Token(Kind.CLICK, copy_id, PUMPS), KEYRING)
                async with client.get(
                    f"http://127.0.0.1:{port}/c/{token}", allow_redirects=False
                ) as response:
                    assert response.status == 302
                    assert response.headers["Location"] == PUMPS
        await events.flush()
        table = interest_profiles.c
        query = select(table.recipient_key, table.topic, table.clicks)
        async with store.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        assert rows == [(recipient_key(KIM, KEY), "pumps", 1)]
    finally:
        await runner.cleanup()
        await events.close()
        await store.close()
