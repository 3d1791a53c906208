"""`sigrelay serve` wires the dashboard and API into the tracker it runs."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from dashboardsite import copy

from config import EXAMPLE_DIR, load_config
from peers import free_port
from sigrelay.service import Parts, Service
from tracker.tokens import Kind, Token, encode, load_keyring


async def test_served_tracker_has_the_login_page_and_the_api(tmp_path: Path):
    port = free_port()
    env = {
        "SIGRELAY_DATA": str(tmp_path / "data"),
        "SIGRELAY_TRACKER__LISTEN": f"127.0.0.1:{port}",
        "SIGRELAY_TRACKER__PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    service = Service(load_config(EXAMPLE_DIR, env), Parts(relay=False, tracker=True))
    await service.start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/admin/login") as login:
                assert login.status == 200 and 'name="password"' in await login.text()
            async with http.get(f"http://127.0.0.1:{port}/api/v1/stats") as stats:
                assert stats.status == 401, "no API token configured: nobody gets in"
    finally:
        await service.stop()


async def test_served_optout_page_names_the_configured_company(tmp_path: Path):
    port = free_port()
    env = {
        "SIGRELAY_DATA": str(tmp_path / "data"),
        "SIGRELAY_TRACKER__LISTEN": f"127.0.0.1:{port}",
        "SIGRELAY_COMPANY__NAME": "Beispiel & Söhne",
    }
    cfg = load_config(EXAMPLE_DIR, env)
    service = Service(cfg, Parts(relay=False, tracker=True))
    await service.start()
    try:
        assert service.store is not None
        await service.store.record_copies([copy(1)])
        token = encode(Token(Kind.OPTOUT, f"{1:016x}"), load_keyring(cfg.data.dir, {}))
        url = f"http://127.0.0.1:{port}/u/{token}"
        async with aiohttp.ClientSession() as http, http.get(url) as page:
            html = await page.text()
        assert page.status == 200
        assert "<h1>Tracking of e-mails from Beispiel &amp; Söhne</h1>" in html
    finally:
        await service.stop()
