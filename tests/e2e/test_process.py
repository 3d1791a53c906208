"""`sigrelay serve` as a process: a real SMTP client (swaks), and restarts
that must neither lose nor repeat an acknowledged message."""

from __future__ import annotations

import asyncio
import os
import signal
import smtplib
import sys
from pathlib import Path

import aiohttp

from exampleflow import SALES_SENDER, cli_json, html_message
from mailparts import body_text, tokens
from peers import PERSON, require_binary
from proxy.spool import FLUSH_TRIGGER
from serveprocess import ServeProcess
from smtpsink import SmtpSink


def _hostport(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return host, int(port)


async def until(condition, timeout: float = 30) -> None:
    """Wait for what only the relay process can change (checked every 20 ms)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


def _spooled_files(data_dir: Path) -> list[Path]:
    """Every file of the spool but the trigger `sigrelay spool retry` leaves."""
    spool = data_dir / "spool"
    files = spool.rglob("*") if spool.exists() else []
    return [p for p in files if p.is_file() and p != spool / FLUSH_TRIGGER]


async def test_swaks_html_message_is_signed_and_its_pixel_counted(
    env: dict[str, str], sink: SmtpSink
):
    swaks = require_binary("swaks")
    serve = ServeProcess(env)
    await serve.start()
    try:
        host, port = _hostport(env["SIGRELAY_RELAY__LISTEN"])
        proc = await asyncio.create_subprocess_exec(
            swaks, "--server", f"{host}:{port}", "--from", SALES_SENDER,
            "--to", "someone@customer.test", "--header", "Subject: swaks test",
            "--add-header", "MIME-Version: 1.0",
            "--add-header", "Content-Type: text/html; charset=utf-8",
            "--body", "<html><body><p>Hello from swaks</p></body></html>",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        transcript, _ = await proc.communicate()
        assert proc.returncode == 0, transcript.decode()
        assert b"250 2.0.0" in transcript

        (copy,) = await sink.handler.wait_for(1)
        assert copy.rcpt_tos == ("someone@customer.test",)
        html = body_text(copy.data, "html")
        assert "Hello from swaks" in html
        (pixel,) = tokens(html, "o")
        # The relay takes a message out of its spool once the copy's sent fact is
        # stored: then the recipient opens it (an open before that counts nothing).
        data_dir = Path(env["SIGRELAY_DATA"])
        await until(lambda: not _spooled_files(data_dir))
        pixel_url = f"{env['SIGRELAY_TRACKER__PUBLIC_URL']}/o/{pixel}"
        async with aiohttp.ClientSession(headers=PERSON) as http, http.get(pixel_url) as resp:
            assert resp.status == 200
    finally:
        assert await serve.stop() == 0, "".join(serve.log)
    totals = (await cli_json(env, "stats"))["totals"]
    assert (totals["sent"], totals["opens"]) == (1, 1)


async def _restart_delivers_exactly_once(env: dict[str, str], stop_signal: signal.Signals):
    sink = SmtpSink(port=int(env["SIGRELAY_UPSTREAM__URL"].rsplit(":", 1)[1]))
    serve = ServeProcess(env)
    await serve.start()
    host, port = _hostport(env["SIGRELAY_RELAY__LISTEN"])
    data = html_message(SALES_SENDER, ["kim@customer.test"])

    def send() -> None:
        with smtplib.SMTP(host, port, timeout=10) as client:
            client.sendmail(SALES_SENDER, ["kim@customer.test"], data)

    await asyncio.to_thread(send)  # 250: the message is on disk, upstream is down
    await serve.stop(stop_signal)
    data_dir = Path(env["SIGRELAY_DATA"])
    assert _spooled_files(data_dir), "the acknowledged message waits in the spool"
    # The first relay may have tried once already and deferred the copy by a
    # minute (back-off); the admin's retry makes it due now, as after fixing an upstream.
    retry = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sigrelay", "spool", "retry",
        env={**os.environ, **env}, stdout=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert await retry.wait() == 0

    await sink.start()
    try:
        serve = ServeProcess(env)
        await serve.start()
        received = await sink.handler.wait_for(1)
        assert await serve.stop() == 0
        assert len(sink.handler.received) == 1, "delivered exactly once"
        assert received[0].rcpt_tos == ("kim@customer.test",)
        assert "please find our" in body_text(received[0].data, "plain")
        assert _spooled_files(data_dir) == [], "the spool is empty once delivered"
    finally:
        if serve.proc is not None and serve.proc.returncode is None:
            await serve.stop()  # a failed assertion must not leave the relay running
        await sink.stop()


async def test_restart_with_upstream_down_delivers_exactly_once(tmp_path, env, sink):
    await sink.stop()  # the upstream is down while the first relay runs
    await _restart_delivers_exactly_once(env, signal.SIGTERM)


async def test_crash_after_250_loses_nothing(tmp_path, env, sink):
    await sink.stop()
    await _restart_delivers_exactly_once(env, signal.SIGKILL)
