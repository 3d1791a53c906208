"""The quick start reaches the dashboard (issue 17, item 6): `sigrelay serve`
at a terminal with no admin configured prints a login for this run; without
a terminal (systemd, containers) or beside configured admins it prints none."""

from __future__ import annotations

import asyncio
import os
import pty
import re
import sys

import aiohttp

from config import EXAMPLE_DIR, load_config
from peers import free_port
from sigrelay.health import DEMO_ADMIN, demo_admin
from sigrelay.service import READY_LINE


def test_no_demo_admin_without_a_terminal_beside_admins_or_off_loopback(tmp_path, capsys):
    env = {"SIGRELAY_DATA": str(tmp_path)}
    cfg = load_config(EXAMPLE_DIR, env)
    assert demo_admin(cfg, interactive=False) is None
    public = load_config(EXAMPLE_DIR, env | {"SIGRELAY_TRACKER__LISTEN": "0.0.0.0:8080"})
    assert demo_admin(public, interactive=True) is None
    assert capsys.readouterr().err == ""
    name, password_hash = demo_admin(cfg, interactive=True)
    assert name == DEMO_ADMIN and password_hash.startswith("$argon2")
    assert "/admin/login" in capsys.readouterr().err


async def test_serve_at_a_terminal_prints_a_login_that_works(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "SIGRELAY_DATA": str(tmp_path / "data"),
        "SIGRELAY_RELAY__LISTEN": f"127.0.0.1:{free_port()}",
        "SIGRELAY_TRACKER__LISTEN": f"127.0.0.1:{port}",
        "SIGRELAY_TRACKER__PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    leader, follower = pty.openpty()  # stderr is a terminal, as with `make run`
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sigrelay", "serve",
        env=env, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=follower,
    )  # fmt: skip
    os.close(follower)
    output = ""
    try:
        while READY_LINE not in output:
            chunk = await asyncio.wait_for(asyncio.to_thread(os.read, leader, 4096), 30)
            assert chunk, "sigrelay serve exited:\n" + output
            output += chunk.decode(errors="replace")
        found = re.search(r"name: (\S+)\s+password: (\S+)", output)
        assert found, output
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            form = {"name": found.group(1), "password": found.group(2)}
            url = f"http://127.0.0.1:{port}/admin/login"
            async with http.post(url, data=form, allow_redirects=False) as response:
                assert response.status == 303, await response.text()
                assert response.headers["Location"].endswith("/admin/campaigns")
            form["password"] = "not-the-password"
            async with http.post(url, data=form, allow_redirects=False) as response:
                assert response.status != 303
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)
        os.close(leader)
