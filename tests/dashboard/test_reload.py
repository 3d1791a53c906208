"""Admins and API tokens follow a reload of the configuration, without a restart."""

from __future__ import annotations

import shutil
from pathlib import Path

import aiohttp
import pytest
from dashboardsite import PASSWORD

from config import EXAMPLE_DIR, load_config
from peers import free_port
from sigrelay.service import Parts, Service
from tracker.dashboard.auth import hash_password

NEW_ADMIN = "dana"


@pytest.fixture
async def tracker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """`sigrelay tracker` on a copy of the example config; its watcher looks only
    when the test calls check() (and reads the environment, as in production)."""
    config_dir = tmp_path / "config"
    shutil.copytree(EXAMPLE_DIR, config_dir)
    port = free_port()
    for name, value in {
        "SIGRELAY_DATA": str(tmp_path / "data"),
        "SIGRELAY_TRACKER__LISTEN": f"127.0.0.1:{port}",
        "SIGRELAY_TRACKER__PUBLIC_URL": f"http://127.0.0.1:{port}",
    }.items():
        monkeypatch.setenv(name, value)
    service = Service(load_config(config_dir), Parts(relay=False, tracker=True))
    service.config_poll_interval = 3600.0
    await service.start()
    try:
        yield service, config_dir, f"http://127.0.0.1:{port}"
    finally:
        await service.stop()


async def _login(url: str, name: str) -> tuple[int, str]:
    # unsafe: the session cookie of a tracker reached by IP address is kept too.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        form = {"name": name, "password": PASSWORD}
        async with http.post(f"{url}/admin/login", data=form) as response:
            return response.status, await response.text()


async def test_an_admin_added_to_the_config_logs_in_after_reload(tracker):
    service, config_dir, url = tracker
    status, _ = await _login(url, NEW_ADMIN)
    assert status == 401, "not an admin yet"

    toml = config_dir / "sigrelay.toml"
    admin = f'\n[[admins]]\nname = "{NEW_ADMIN}"\npassword_hash = "{hash_password(PASSWORD)}"\n'
    toml.write_text(toml.read_text() + admin)
    assert service.config_watcher is not None
    assert service.config_watcher.check(), service.config_watcher.last_errors

    status, html = await _login(url, NEW_ADMIN)
    assert status == 200 and NEW_ADMIN in html, "logged in: the campaigns page names her"


async def test_an_admin_removed_from_the_config_can_no_longer_log_in(tracker):
    service, config_dir, url = tracker
    toml = config_dir / "sigrelay.toml"
    original = toml.read_text()
    admin = f'\n[[admins]]\nname = "{NEW_ADMIN}"\npassword_hash = "{hash_password(PASSWORD)}"\n'
    toml.write_text(original + admin)
    assert service.config_watcher is not None and service.config_watcher.check()
    assert (await _login(url, NEW_ADMIN))[0] == 200

    toml.write_text(original)
    assert service.config_watcher.check()
    assert (await _login(url, NEW_ADMIN))[0] == 401
