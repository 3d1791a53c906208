"""`sigrelay tracker` as a process: events fired at it are all stored after SIGTERM."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import sqlite3
import sys
from pathlib import Path

import aiohttp

from peers import free_port
from sigrelay.service import READY_LINE
from tracker.tokens import Kind, Token, encode, new_copy_id, parse_keys

KEYS = "p1:" + base64.b64encode(b"process-test-signing-key-32bytes").decode()
EVENTS = 300


async def test_sigterm_flushes_every_event_into_the_store(tmp_path: Path):
    port = free_port()
    env = {
        **os.environ,
        "SIGRELAY_DATA": str(tmp_path / "data"),
        "SIGRELAY_TRACKER__LISTEN": f"127.0.0.1:{port}",
        "SIGRELAY_TOKEN_KEYS": KEYS,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sigrelay", "tracker", env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        assert proc.stderr is not None
        async with asyncio.timeout(30):
            while READY_LINE.encode() not in (line := await proc.stderr.readline()):
                assert line, "sigrelay tracker exited before it was ready"
        keyring = parse_keys(KEYS, "test")
        urls = [
            f"http://127.0.0.1:{port}/o/{encode(Token(Kind.OPEN, new_copy_id()), keyring)}"
            for _ in range(EVENTS)
        ]
        async with aiohttp.ClientSession() as http:
            for url in urls:
                async with http.get(url) as response:
                    assert response.status == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    with sqlite3.connect(tmp_path / "data" / "sigrelay.db") as db:
        assert db.execute("SELECT count(*) FROM events").fetchone()[0] == EVENTS
