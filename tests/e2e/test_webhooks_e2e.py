"""A recipient's click reaches the CRM's webhook, signed, naming the recipient
(personal mode), from a whole service on loopback."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from landingsite import serve

from config import Config
from exampleflow import EXTERNAL, SALES_SENDER, relay, wait_recorded
from mailparts import body_text, hrefs
from sigrelay.service import Service
from smtpsink import SmtpSink
from tracker.webhooks import SIGNATURE_HEADER

SECRET = "crm-webhook-secret"


@pytest.fixture
async def crm(config_dir: Path, env: dict[str, str]) -> AsyncIterator[asyncio.Queue]:
    """A webhook receiver on loopback, configured in the service's TOML."""
    received: asyncio.Queue[tuple[bytes, str]] = asyncio.Queue()

    async def hook(request: web.Request) -> web.Response:
        await received.put((await request.read(), request.headers[SIGNATURE_HEADER]))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner, url = await serve(app)
    env["CRM_WEBHOOK_SECRET"] = SECRET
    with (config_dir / "sigrelay.toml").open("a") as toml:
        toml.write(f'\n[[webhooks]]\nurl = "{url}/hook"\nsecret_env = "CRM_WEBHOOK_SECRET"\n')
    yield received
    await runner.cleanup()


async def test_click_is_posted_to_the_webhook_with_a_valid_signature(
    crm: asyncio.Queue, cfg: Config, service: Service, sink: SmtpSink
):
    await relay(cfg, SALES_SENDER, EXTERNAL[:1])
    (copy,) = await sink.handler.wait_for(1)
    await wait_recorded(service, copy.data)  # the webhook names the copy's recipient from it
    tracked = [h for h in hrefs(body_text(copy.data, "html")) if "/c/" in h]
    async with aiohttp.ClientSession() as http, http.get(tracked[0], allow_redirects=False) as r:
        assert r.status == 302

    body, header = await asyncio.wait_for(crm.get(), 10)
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(header, expected)
    (event,) = json.loads(body)["events"]
    assert (event["kind"], event["recipient"], event["campaign"]) == (
        "click",
        EXTERNAL[0],
        "spring-launch",
    )
