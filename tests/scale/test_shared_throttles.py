"""Issue 14, finding 6: with two nodes (relay + tracker each) on one PostgreSQL,
the AUTH throttle, the dashboard login throttle and logouts count on both:
attempts on node A count on node B. Each process used to count alone, so N
nodes allowed N times the attempts."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import smtplib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from config import load_config
from peers import free_port, fresh_postgres_database
from proxy.auth.users import add_user
from sigrelay.service import Service
from tracker.dashboard.auth import SESSION_COOKIE, hash_password

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example"
USER, USER_PASSWORD = "anna.schmidt@example.com", "correct horse battery staple"
ADMIN, ADMIN_PASSWORD = "alice", "another correct horse"


@pytest.fixture
async def two_nodes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[list]:
    monkeypatch.setenv("SIGRELAY_TOKEN_KEYS", "s1:" + "c2NhbGUtb3V0LXRlc3Qtc2lnbmluZy1rZXktMzJi")
    users = tmp_path / "users"
    add_user(users, USER, USER_PASSWORD)
    admin_hash = hash_password(ADMIN_PASSWORD)
    async with fresh_postgres_database("sigrelay_throttle") as database:
        nodes = []
        for name in ("a", "b"):
            config_dir = tmp_path / name / "config"
            shutil.copytree(EXAMPLE, config_dir)
            with (config_dir / "sigrelay.toml").open("a") as toml:
                toml.write(f'\n[[admins]]\nname = "{ADMIN}"\npassword_hash = "{admin_hash}"\n')
            tracker_port = free_port()
            env = {
                **os.environ,
                "SIGRELAY_DATA": str(tmp_path / name / "data"),
                "SIGRELAY_STORE__URL": database,
                "SIGRELAY_RELAY__LISTEN": f"127.0.0.1:{free_port()}",
                "SIGRELAY_RELAY__USERS_FILE": str(users),
                "SIGRELAY_RELAY__AUTH_ON_LOOPBACK_WITHOUT_TLS": "true",
                "SIGRELAY_RELAY__AUTH_FAILURE_DELAY": "0",
                "SIGRELAY_RELAY__AUTH_MAX_FAILURES": "4",
                "SIGRELAY_TRACKER__LISTEN": f"127.0.0.1:{tracker_port}",
                "SIGRELAY_TRACKER__PUBLIC_URL": f"http://127.0.0.1:{tracker_port}",
            }
            nodes.append(Service(load_config(config_dir, env)))
        for node in nodes:
            await node.start()
        try:
            yield nodes
        finally:
            for node in reversed(nodes):
                await node.stop()


def _auth(node: Service, password: str) -> int:
    host, _, port = node.cfg.relay.listen.rpartition(":")
    blob = base64.b64encode(f"\0{USER}\0{password}".encode()).decode()
    with smtplib.SMTP(host, int(port), timeout=10) as client:
        client.ehlo()
        return client.docmd("AUTH", "PLAIN " + blob)[0]


async def test_auth_failures_on_one_node_count_on_the_other(two_nodes):
    node_a, node_b = two_nodes
    failures = [await asyncio.to_thread(_auth, node, "guess") for node in (node_a, node_b) * 2]
    assert failures == [535] * 4
    # Two failures on each node: alone, neither would have reached the limit of 4.
    assert await asyncio.to_thread(_auth, node_a, USER_PASSWORD) == 454
    assert await asyncio.to_thread(_auth, node_b, USER_PASSWORD) == 454


async def _login(http: aiohttp.ClientSession, node: Service, password: str) -> int:
    url = f"http://{node.cfg.tracker.listen}/admin/login"
    form = {"name": ADMIN, "password": password}
    async with http.post(url, data=form, allow_redirects=False) as response:
        return response.status


async def test_dashboard_login_failures_on_one_node_count_on_the_other(two_nodes):
    node_a, node_b = two_nodes
    async with aiohttp.ClientSession() as http:
        failures = [await _login(http, node, "guess") for node in (node_a, node_b) * 2]
        failures.append(await _login(http, node_a, "guess"))
        assert failures == [401] * 5
        assert await _login(http, node_b, ADMIN_PASSWORD) == 429


async def test_a_logout_on_one_node_ends_the_session_on_the_other(two_nodes):
    node_a, node_b = two_nodes
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        assert await _login(http, node_a, ADMIN_PASSWORD) == 303
        cookie = next(c.value for c in jar if c.key == SESSION_COOKIE)
        page_on_b = f"http://{node_b.cfg.tracker.listen}/admin/campaigns"
        async with http.get(page_on_b, allow_redirects=False) as before:
            assert before.status == 200  # one cookie, good on every node (shared keys)
        page_on_a = f"http://{node_a.cfg.tracker.listen}/admin/campaigns"
        async with http.get(page_on_a) as page:
            html = await page.text()
        token = html.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        logout = f"http://{node_a.cfg.tracker.listen}/admin/logout"
        async with http.post(logout, data={"csrf": token}, allow_redirects=False) as response:
            assert response.status == 303
    async with (
        aiohttp.ClientSession(cookies={SESSION_COOKIE: cookie}) as replay,
        replay.get(page_on_b, allow_redirects=False) as page,
    ):
        assert page.status == 303  # node B knows the session was ended on node A
