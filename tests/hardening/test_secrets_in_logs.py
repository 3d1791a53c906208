"""Secrets never in logs (issue 14, hardening suite).

A whole session against a real `sigrelay serve` process logging at DEBUG:
SMTP AUTH (PLAIN and LOGIN, right and wrong passwords), a tracked message,
its pixel, click and opt-out page fetched, an admin logging in to the
dashboard (wrong, then right), its session used, a logout. Then every line
the process wrote is searched for every secret it was given or handed out.
"""

from __future__ import annotations

import asyncio
import base64
import re
import shutil
import smtplib
from email.message import EmailMessage
from pathlib import Path

import aiohttp
import pytest

from mailparts import body_text
from peers import free_port
from proxy.auth.users import add_user
from serveprocess import ServeProcess
from smtpsink import SmtpSink
from tracker.dashboard.auth import SESSION_COOKIE, hash_password

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example"
USER, PASSWORD = "anna.schmidt@example.com", "s3cret-user-Passw0rd"
WRONG = "wr0ng-guess-Passw0rd"
ADMIN, ADMIN_PASSWORD = "alice", "s3cret-admin-Passw0rd"
KEY = b"secret-signing-key-for-the-logs!"
TOKEN_KEYS = "s1:" + base64.b64encode(KEY).decode()


def _smtp_session(port: int, message: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo("client.test")
        with pytest.raises(smtplib.SMTPAuthenticationError):
            client.login(USER, WRONG)
        client.user, client.password = USER, PASSWORD
        code, _ = client.auth("LOGIN", client.auth_login, initial_response_ok=False)
        assert code == 235
        client.sendmail(USER, ["kim@customer.test"], message)
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.login(USER, PASSWORD)  # AUTH PLAIN
        client.noop()


async def test_no_secret_reaches_the_log(tmp_path: Path, sink: SmtpSink):
    config_dir = tmp_path / "config"
    shutil.copytree(EXAMPLE, config_dir)
    admin_hash = hash_password(ADMIN_PASSWORD)
    with (config_dir / "sigrelay.toml").open("a") as toml:
        toml.write(f'\n[[admins]]\nname = "{ADMIN}"\npassword_hash = "{admin_hash}"\n')
    users = tmp_path / "users"
    add_user(users, USER, PASSWORD)
    relay_port, tracker_port = free_port(), free_port()
    tracker = f"http://127.0.0.1:{tracker_port}"
    process = ServeProcess(
        {
            "SIGRELAY_CONFIG": str(config_dir),
            "SIGRELAY_DATA": str(tmp_path / "data"),
            "SIGRELAY_LOG_LEVEL": "DEBUG",
            "SIGRELAY_RELAY__LISTEN": f"127.0.0.1:{relay_port}",
            "SIGRELAY_RELAY__USERS_FILE": str(users),
            "SIGRELAY_RELAY__AUTH_ON_LOOPBACK_WITHOUT_TLS": "true",
            "SIGRELAY_RELAY__AUTH_FAILURE_DELAY": "0",
            "SIGRELAY_TRACKER__LISTEN": f"127.0.0.1:{tracker_port}",
            "SIGRELAY_TRACKER__PUBLIC_URL": tracker,
            "SIGRELAY_TRACKER__SCANNER_CLICK_SECONDS": "0",
            "SIGRELAY_UPSTREAM__URL": sink.url,
            "SIGRELAY_TOKEN_KEYS": TOKEN_KEYS,
        }
    )
    await process.start()
    handed_out: list[str] = []
    try:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = USER, "kim@customer.test", "Offer"
        msg.set_content("Hello Kim")
        msg.add_alternative("<html><body><p>Hello Kim</p></body></html>", subtype="html")
        await asyncio.to_thread(_smtp_session, relay_port, msg.as_bytes())
        (copy,) = await sink.handler.wait_for(1)
        html = body_text(copy.data, "html")
        urls = sorted(set(re.findall(re.escape(tracker) + r"/[a-z]/[^\"'<>\s]+", html)))
        assert any("/u/" in url for url in urls) and any("/c/" in url for url in urls)
        handed_out += [url.rsplit("/", 1)[1] for url in urls]
        async with aiohttp.ClientSession(headers={"Origin": tracker}) as http:
            for url in urls:
                async with http.get(url, allow_redirects=False) as response:
                    assert response.status in (200, 302, 303, 307), url
            form = {"name": ADMIN, "password": WRONG}
            async with http.post(f"{tracker}/admin/login", data=form) as response:
                assert response.status in (401, 403)
            form["password"] = ADMIN_PASSWORD
            async with http.post(
                f"{tracker}/admin/login", data=form, allow_redirects=False
            ) as response:
                assert response.status == 303
                cookie = response.cookies[SESSION_COOKIE].value
            handed_out.append(cookie)
            async with http.get(f"{tracker}/admin/campaigns") as response:
                assert response.status == 200
            async with http.post(f"{tracker}/admin/logout", allow_redirects=False) as response:
                assert response.status in (200, 302, 303)
    finally:
        await process.stop()

    log = "".join(process.log)
    # The session was logged (user names are no secret; they are what an admin greps for).
    assert USER in log and "auth-failed" in log and "auth-ok" in log, log[-2000:]
    plain_blob = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()
    secrets = {
        "user password": PASSWORD,
        "wrong password": WRONG,
        "admin password": ADMIN_PASSWORD,
        "AUTH PLAIN blob": plain_blob,
        "AUTH LOGIN password": base64.b64encode(PASSWORD.encode()).decode(),
        "signing key": KEY.decode(),
        "signing key (base64)": TOKEN_KEYS.split(":", 1)[1],
        "admin password hash": admin_hash,
        **{f"handed-out token or session {i}": value for i, value in enumerate(handed_out)},
    }
    leaked = {name for name, secret in secrets.items() if secret in log}
    assert not leaked, f"secrets in the log: {sorted(leaked)}"
