"""Reloading a running `sigrelay serve` (issue 17, item 3): SIGHUP reloads and
never kills, a template edit reaches the next message within 5 s through the
file watcher alone, and a rejected change shows in the metrics while the
running configuration goes on."""

from __future__ import annotations

import asyncio
import json
import signal
import time
import urllib.request

from relayclient import smtp_send

from peers import free_port
from serveprocess import ServeProcess
from smtpsink import SmtpSink

ANNA = "anna.schmidt@example.com"
EDIT_REACHES_MAIL_WITHIN = 5.0


def fetch(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        return response.read().decode()


def metrics(port: int) -> str:
    return fetch(port, "/metrics")


async def _delivered_with(sink: SmtpSink, port: int, text: bytes, count: int) -> int:
    """Send one message; the number of messages the sink holds once it arrived."""
    await smtp_send(port, ANNA, ["kim@customer.test"])
    received = await sink.handler.wait_for(count)
    return sum(text in message.data for message in received)


async def test_a_template_edit_reaches_the_next_message_within_5_seconds(
    relay_env, config_dir, sink: SmtpSink
):
    server = ServeProcess(relay_env, command="relay")
    await server.start()
    port = int(relay_env["SIGRELAY_RELAY__LISTEN"].rsplit(":", 1)[1])
    try:
        template = config_dir / "templates" / "sales.txt"
        template.write_text(template.read_text() + "Visit us at booth 4711\n")
        edited = time.monotonic()
        sent = 0
        while True:  # the next messages: the first that carries the edit ends the wait
            sent += 1
            if await _delivered_with(sink, port, b"booth 4711", sent):
                break
            assert time.monotonic() - edited < 2 * EDIT_REACHES_MAIL_WITHIN, "edit never arrived"
        took = time.monotonic() - edited
        assert took <= EDIT_REACHES_MAIL_WITHIN, f"the edit took {took:.1f} s to reach a message"
    finally:
        assert await server.stop() == 0


async def test_sighup_reloads_and_a_rejected_change_keeps_the_running_config(
    relay_env, config_dir, sink: SmtpSink
):
    tracker_port = free_port()
    env = relay_env | {
        "SIGRELAY_TRACKER__LISTEN": f"127.0.0.1:{tracker_port}",
        "SIGRELAY_TRACKER__PUBLIC_URL": f"http://127.0.0.1:{tracker_port}",
    }
    server = ServeProcess(env, command="serve")
    await server.start()
    relay_port = int(relay_env["SIGRELAY_RELAY__LISTEN"].rsplit(":", 1)[1])
    assert server.proc is not None
    try:
        template = config_dir / "templates" / "sales.txt"
        template.write_text(template.read_text() + "Hear the news first\n")
        server.proc.send_signal(signal.SIGHUP)
        await _until(lambda: any("SIGHUP: reloading" in line for line in server.log))
        await _until(lambda: any("config reloaded" in line for line in server.log))
        assert await _delivered_with(sink, relay_port, b"Hear the news first", 1) == 1

        toml = config_dir / "sigrelay.toml"
        toml.write_text(toml.read_text() + "\n[relay\n")  # a broken edit
        server.proc.send_signal(signal.SIGHUP)
        await _until(lambda: any("config change rejected" in line for line in server.log))
        assert server.proc.returncode is None  # alive: SIGHUP never kills
        scraped = await asyncio.to_thread(metrics, tracker_port)
        assert "sigrelay_config_reload_failures_total 1.0" in scraped
        assert "sigrelay_config_reload_ok 0.0" in scraped
        health = json.loads(await asyncio.to_thread(fetch, tracker_port, "/healthz"))
        assert health["status"] == "degraded" and health["config"]["status"] == "rejected"
        assert any("sigrelay.toml" in error for error in health["config"]["errors"])
        # The running config still signs: the broken file changed nothing.
        assert await _delivered_with(sink, relay_port, b"Hear the news first", 2) == 2
    finally:
        assert await server.stop() == 0


async def _until(condition, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)
