"""The README's quick start, as a new admin tries it: a message through the
relay, its pixel fetched with `curl` (a script: a machine) and then with a mail
program's agent, and `sigrelay stats` as printed for a terminal. The machine's
fetch must show up, beside the person's, rather than leave every figure at 0."""

from __future__ import annotations

import asyncio
import os
import smtplib
import sys

import aiohttp

from exampleflow import SALES_SENDER, html_message
from mailparts import body_text, tokens
from peers import PERSON_AGENT
from serveprocess import ServeProcess
from smtpsink import SmtpSink

CURL = "curl/8.5.0"


async def stats_table(env: dict[str, str]) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sigrelay", "stats",
        env={**os.environ, **env}, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return out.decode()


async def test_a_curl_test_shows_as_a_machine_and_a_mail_programs_open_as_a_person(
    env: dict[str, str], sink: SmtpSink
):
    serve = ServeProcess(env)
    await serve.start()
    try:
        host, _, port = env["SIGRELAY_RELAY__LISTEN"].rpartition(":")
        data = html_message(SALES_SENDER, ["someone@customer.test"])

        def send() -> None:
            with smtplib.SMTP(host, int(port), timeout=10) as client:
                client.sendmail(SALES_SENDER, ["someone@customer.test"], data)

        await asyncio.to_thread(send)
        (copy,) = await sink.handler.wait_for(1)
        (pixel,) = tokens(body_text(copy.data, "html"), "o")
        url = f"{env['SIGRELAY_TRACKER__PUBLIC_URL']}/o/{pixel}"
        async with aiohttp.ClientSession() as http:
            for agent in (CURL, PERSON_AGENT):
                async with http.get(url, headers={"User-Agent": agent}) as resp:
                    assert resp.status == 200
    finally:
        assert await serve.stop() == 0, "".join(serve.log)
    table = await stats_table(env)
    assert "opens 1 by people, 1 by machines" in table, table
    assert "clicks 0 by people, 0 by machines" in table, table
