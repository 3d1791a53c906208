"""Relay processes seen from outside: the workers of a running `sigrelay relay`
(read from /proc), and waiting for what only those processes can change."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path


async def until(condition: Callable[[], bool], timeout: float = 30) -> None:
    """Wait for a condition only another process can change (checked every 20 ms)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


def workers_of(parent: int) -> dict[int, str]:
    """pid -> "i/N" of the relay workers that worker 0 (`parent`) started."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue  # gone meanwhile, or not ours to read
        role = [v.split(b"=", 1)[1] for v in environ if v.startswith(b"SIGRELAY_WORKER=")]
        if ppid == parent and role:
            found[int(entry.name)] = role[0].decode()
    return found
