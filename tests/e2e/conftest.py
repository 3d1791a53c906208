"""A whole sigrelay (relay + delivery + tracker, one process) on loopback,
on a copy of the example configuration, delivering to a real SMTP sink."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from config import Config, load_config
from peers import free_port
from sigrelay.service import Service
from smtpsink import SmtpSink

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example"


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(EXAMPLE, target)
    return target


@pytest.fixture
def env(tmp_path: Path, config_dir: Path, sink: SmtpSink) -> Iterator[dict[str, str]]:
    tracker_port = free_port()
    yield {
        "SIGRELAY_CONFIG": str(config_dir),
        "SIGRELAY_DATA": str(tmp_path / "data"),
        "SIGRELAY_RELAY__LISTEN": f"127.0.0.1:{free_port()}",
        "SIGRELAY_TRACKER__LISTEN": f"127.0.0.1:{tracker_port}",
        "SIGRELAY_TRACKER__PUBLIC_URL": f"http://127.0.0.1:{tracker_port}",
        "SIGRELAY_UPSTREAM__URL": sink.url,
        "SIGRELAY_TOKEN_KEYS": "t1:" + "dGVzdC1rZXktZm9yLXRoZS1lbmQtdG8tZW5kLXRlc3Q=",
        # These tests click within a second of sending, as only scanners do in real life.
        "SIGRELAY_TRACKER__SCANNER_CLICK_SECONDS": "0",
    }


@pytest.fixture
def cfg(env: dict[str, str], config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return load_config(config_dir, env)


@pytest.fixture
async def service(cfg: Config) -> AsyncIterator[Service]:
    service = Service(cfg)
    await service.start()
    try:
        yield service
    finally:
        await service.stop()
