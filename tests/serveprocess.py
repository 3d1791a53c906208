"""`sigrelay serve` as a real process, the way systemd or `make run` starts it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import dataclass, field

from sigrelay.service import READY_LINE


@dataclass
class ServeProcess:
    env: dict[str, str]
    command: str = "serve"  # or "relay", "tracker"
    proc: asyncio.subprocess.Process | None = None
    log: list[str] = field(default_factory=list)
    _drain: asyncio.Task | None = None

    async def start(self, timeout: float = 30) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "sigrelay", self.command,
            env={**os.environ, **self.env},
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        await asyncio.wait_for(self._until_ready(), timeout)
        self._drain = asyncio.create_task(self._read_rest())

    async def _until_ready(self) -> None:
        assert self.proc and self.proc.stderr
        while True:
            line = await self.proc.stderr.readline()
            if not line:
                raise AssertionError("sigrelay serve exited before ready:\n" + "".join(self.log))
            self.log.append(line.decode(errors="replace"))
            if READY_LINE in self.log[-1]:
                return

    async def _read_rest(self) -> None:
        assert self.proc and self.proc.stderr
        while line := await self.proc.stderr.readline():
            self.log.append(line.decode(errors="replace"))

    async def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 30) -> int:
        """Stop by PID with `sig`; returns the exit code."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        if self._drain is not None:
            await self._drain
        return code
