"""Campaign changes reach a running service without a restart (hot reload)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from config import Config
from exampleflow import EXTERNAL, SALES_SENDER, relay
from mailparts import body_text, parse, tokens
from sigrelay.service import Service
from smtpsink import SmtpSink

SCHEDULE = "end = 2099-01-01T00:00:00+01:00"


@pytest.fixture
async def service(cfg: Config) -> AsyncIterator[Service]:
    """The service of tests/e2e/conftest.py, whose background watcher never looks
    during a test: reload() is the only look. Were the watcher's thread to look
    at an edit just before reload(), it would take the change (the directory no
    longer differs for reload()) and apply it only once the test yields: the
    assertions right after reload() would see the old config (a watcher looking
    every millisecond beside check() left 2 edits in 300 unapplied)."""
    service = Service(cfg)
    service.config_poll_interval = 3600.0
    await service.start()
    try:
        yield service
    finally:
        await service.stop()


def reload(service: Service) -> None:
    """What the service's watcher does every few seconds, done now (no waiting)."""
    assert service.config_watcher is not None
    service.config_watcher.check()


async def test_ended_campaign_disappears_from_the_next_message_after_reload(
    cfg: Config, service: Service, sink: SmtpSink, config_dir: Path
):
    await relay(cfg, SALES_SENDER, EXTERNAL[:1])
    (first,) = await sink.handler.wait_for(1)
    assert tokens(body_text(first.data, "html"), "b"), "the campaign shows a banner"

    toml = config_dir / "sigrelay.toml"
    toml.write_text(toml.read_text().replace(SCHEDULE, "end = 2024-03-02T00:00:00+01:00"))
    reload(service)
    assert service.cfg.campaigns[0].end.year == 2024

    await relay(cfg, SALES_SENDER, EXTERNAL[:1])
    second = (await sink.handler.wait_for(2))[1]
    assert tokens(body_text(second.data, "html"), "b") == []


async def test_embedded_delivery_sends_the_banner_as_an_inline_part(
    cfg: Config, service: Service, sink: SmtpSink, config_dir: Path
):
    toml = config_dir / "sigrelay.toml"
    toml.write_text(toml.read_text().replace(SCHEDULE, SCHEDULE + '\ndelivery = "embedded"'))
    reload(service)
    assert service.cfg.campaigns[0].delivery == "embedded"

    await relay(cfg, SALES_SENDER, EXTERNAL[:1])
    (copy,) = await sink.handler.wait_for(1)
    html = body_text(copy.data, "html")
    images = [p for p in parse(copy.data).walk() if p.get_content_type() == "image/png"]
    assert tokens(html, "b") == [], "no hosted banner: nothing to count"
    assert len(images) == 1 and f"cid:{images[0]['Content-ID'].strip('<>')}" in html


async def test_invalid_edit_keeps_the_running_campaign(
    cfg: Config, service: Service, sink: SmtpSink, config_dir: Path
):
    toml = config_dir / "sigrelay.toml"
    toml.write_text(toml.read_text().replace(SCHEDULE, "end = 2000-01-01T00:00:00+01:00"))
    reload(service)
    assert service.cfg is cfg
    assert service.config_watcher is not None
    assert [e.field for e in service.config_watcher.last_errors] == ["campaigns[0].end"]

    await relay(cfg, SALES_SENDER, EXTERNAL[:1])
    (copy,) = await sink.handler.wait_for(1)
    assert tokens(body_text(copy.data, "html"), "b")
