"""The `domain` mode end to end: one copy per recipient domain, and the store
keeps the domain only."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from config import Config
from exampleflow import SALES_SENDER, relay
from mailparts import body_text, tokens
from sigrelay.service import Service
from smtpsink import SmtpSink
from tracker.store import Store
from tracker.store.models import copies

KIM, MAX, LEE = "kim@customer.test", "max@customer.test", "lee@partner.test"


@pytest.fixture
def config_dir(config_dir: Path) -> Path:
    toml = config_dir / "sigrelay.toml"
    text = toml.read_text()
    assert text.count('privacy = "personal"') == 1, "the example's sales group"
    toml.write_text(text.replace('privacy = "personal"', 'privacy = "domain"'))
    return config_dir


async def test_domain_mode_sends_one_copy_per_domain_and_stores_only_the_domain(
    cfg: Config, service: Service, sink: SmtpSink
):
    await relay(cfg, SALES_SENDER, [KIM, LEE, MAX])
    received = await sink.handler.wait_for(2)
    assert sorted(sorted(c.rcpt_tos) for c in received) == [[KIM, MAX], [LEE]]
    for copy in received:
        html = body_text(copy.data, "html")
        assert tokens(html, "o"), "tracked"
        # Only a copy to one recipient can carry a link that opts out nobody else.
        assert bool(tokens(html, "u")) == (len(copy.rcpt_tos) == 1)

    await service.stop()  # the relay records its sent facts before it stops
    store = await Store.open(cfg.store.url)
    try:
        async with store.engine.connect() as conn:
            rows = (await conn.execute(select(copies))).mappings().all()
    finally:
        await store.close()
    assert sorted((r["domain"], r["recipient"], r["recipients"]) for r in rows) == [
        ("customer.test", None, 2),
        ("partner.test", None, 1),
    ]
