"""Issue 14, finding 9: with `listeners` set, the start-up log names the real
listeners, not the default `listen` that is not used."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from config import EXAMPLE_DIR, load_config
from peers import free_port
from sigrelay.service import Parts, Service


async def test_start_up_log_prints_the_configured_listeners(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    first, second = free_port(), free_port()
    env = {
        "SIGRELAY_DATA": str(tmp_path / "data"),
        "SIGRELAY_RELAY__LISTENERS": (
            f'[{{listen = "127.0.0.1:{first}", mode = "plain"}},'
            f' {{listen = "127.0.0.1:{second}", mode = "plain"}}]'
        ),
    }
    cfg = load_config(EXAMPLE_DIR, env)
    caplog.set_level(logging.INFO, logger="sigrelay.service")
    service = Service(cfg, Parts(relay=True, tracker=False))
    await service.start()
    try:
        # the service's summary line (proxy.listeners logs each listener too, when an
        # earlier test left the root logger at INFO)
        (line,) = [
            r.getMessage()
            for r in caplog.records
            if r.name == "sigrelay.service" and "relay listening=" in r.getMessage()
        ]
    finally:
        await service.stop()
    assert f"127.0.0.1:{first}/plain,127.0.0.1:{second}/plain" in line
    assert cfg.relay.listen not in line  # the default, unused: 127.0.0.1:2525
