"""Several relay processes on one machine: `[relay] workers = N`.

A Python process runs Python code on one core at a time, and accepting,
rewriting and delivering a message is mostly Python code; Postfix, too, is
several processes. The process the admin starts (`sigrelay serve` or `sigrelay
relay`, under systemd) is worker 0: it binds the listeners and starts workers
1..N-1 as `sigrelay relay` processes that inherit the listening sockets (the
kernel hands each new connection to one of the processes waiting on them) and
share the spool, each owning a share of the queue ids (proxy/spool.py `Share`):
it accepts into its share, and recovers, delivers and cleans up only that. A
restart with another N re-divides the spool; `sigrelay spool ...` sees all of it.

Worker 0 declares itself ready once every worker said so (through the
notify protocol, on a socket of its own: proxy/sdnotify's READY=1), restarts
a worker that exits unexpectedly, and stops them all when it stops; a worker
stops by itself when worker 0 dies (PR_SET_PDEATHSIG).

What each process keeps to itself: connection counts per client IP (the
limit applies per process) and its Prometheus counters (the /metrics of
`sigrelay serve` are worker 0's; spool depth and age count all). The AUTH
throttle is counted in the store, so it holds across processes and nodes.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import secrets
import signal
import socket
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from proxy.errors import ProxyError
from proxy.spool import Share

log = logging.getLogger("sigrelay.proxy.workers")

WORKER_ENV = "SIGRELAY_WORKER"  # "i/N" in workers 1..N-1
LISTEN_FDS_ENV = "SIGRELAY_LISTEN_FDS"  # "3,4;5": descriptors per configured listener
PARENT_ENV = "SIGRELAY_WORKER_PARENT"  # worker 0's pid
START_TIMEOUT = 60.0
RESTART_DELAY = 1.0
_PR_SET_PDEATHSIG = 1
# systemd's variables are worker 0's alone (NotifyAccess=main).
_SYSTEMD_ENV = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID")


class WorkerError(ProxyError):
    """A worker could not be started; the message says which and why."""


@dataclass(frozen=True)
class WorkerRole:
    """What this process is among the relay processes."""

    share: Share
    inherited: tuple[tuple[int, ...], ...] | None = None  # None: worker 0 binds itself

    @property
    def first(self) -> bool:
        return self.share.index == 0


def role_from_env(workers: int, env: Mapping[str, str] = os.environ) -> WorkerRole:
    """Worker 0 (started by the admin) or the worker that worker 0 started."""
    given = env.get(WORKER_ENV)
    if not given:
        return WorkerRole(Share(0, workers))
    index, _, count = given.partition("/")
    fds = tuple(
        tuple(int(fd) for fd in part.split(",") if fd) for part in env[LISTEN_FDS_ENV].split(";")
    )
    return WorkerRole(Share(int(index), int(count)), fds)


def follow_parent(env: Mapping[str, str] = os.environ) -> None:
    """In a worker: be sent SIGTERM when worker 0 dies, and leave now if it already did."""
    parent = int(env[PARENT_ENV])
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:
        raise WorkerError(f"worker 0 (pid {parent}) is gone; not starting")


def _ready_worker(note: bytes) -> int | None:
    """The worker index of a notify message with READY=1 (service.py's status
    line names it as worker=i/N), else None."""
    lines = note.decode(errors="replace").splitlines()
    if "READY=1" not in lines:
        return None
    for line in lines:
        if line.startswith("STATUS=") and " worker=" in line:
            index = line.rsplit(" worker=", 1)[1].split("/", 1)[0]
            return int(index) if index.isdigit() else None
    return None


def _fds_text(fds: Sequence[Sequence[int]]) -> str:
    return ";".join(",".join(str(fd) for fd in group) for group in fds)


class WorkerProcesses:
    """Workers 1..N-1 of worker 0: started, watched, restarted, stopped."""

    def __init__(self, count: int, config_dir: Path, listen_fds: Sequence[Sequence[int]]) -> None:
        self.count = count
        self.config_dir = config_dir
        self.listen_fds = listen_fds
        self._processes: dict[int, asyncio.subprocess.Process] = {}
        self._watchers: list[asyncio.Task[None]] = []
        self._stopping = False
        # Workers report READY=1 here, as they would to systemd.
        self._notify_address = f"\0sigrelay-workers-{os.getpid()}-{secrets.token_hex(4)}"
        self._notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self._notify.bind(self._notify_address)
        self._notify.setblocking(False)

    def _env(self, index: int) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _SYSTEMD_ENV}
        return env | {
            WORKER_ENV: f"{index}/{self.count}",
            LISTEN_FDS_ENV: _fds_text(self.listen_fds),
            PARENT_ENV: str(os.getpid()),
            "NOTIFY_SOCKET": "@" + self._notify_address[1:],
        }

    async def _spawn(self, index: int) -> None:
        level = logging.getLevelName(logging.getLogger().getEffectiveLevel())
        argv = [sys.executable, "-m", "sigrelay", "--log-level", str(level), "relay",
                "--config", str(self.config_dir)]  # fmt: skip
        process = await asyncio.create_subprocess_exec(
            *argv,
            env=self._env(index),
            pass_fds=[fd for group in self.listen_fds for fd in group],
            stdin=asyncio.subprocess.DEVNULL,
        )
        self._processes[index] = process
        log.info("relay worker %d/%d started pid=%d", index, self.count, process.pid)

    async def start(self) -> None:
        """Start workers 1..N-1 and wait until each of them said it is ready."""
        for index in range(1, self.count):
            await self._spawn(index)
        try:
            async with asyncio.timeout(START_TIMEOUT):
                await self._await_ready(set(range(1, self.count)))
        except BaseException as exc:
            await self.stop()
            if isinstance(exc, TimeoutError):
                raise WorkerError(f"relay workers not ready within {START_TIMEOUT:.0f} s") from None
            raise
        self._watchers = [
            asyncio.create_task(self._watch(index), name=f"sigrelay-worker-{index}")
            for index in range(1, self.count)
        ]
        self._watchers.append(asyncio.create_task(self._drain(), name="sigrelay-worker-notes"))

    async def _await_ready(self, waiting: set[int]) -> None:
        loop = asyncio.get_running_loop()
        exits = {i: asyncio.ensure_future(self._processes[i].wait()) for i in waiting}
        note: asyncio.Future[bytes] | None = None
        try:
            while waiting:
                if note is None:
                    note = asyncio.ensure_future(loop.sock_recv(self._notify, 4096))
                await asyncio.wait([note, *exits.values()], return_when=asyncio.FIRST_COMPLETED)
                for index in waiting:
                    if exits[index].done():
                        raise WorkerError(
                            f"relay worker {index} exited with {exits[index].result()} "
                            "while starting; its log lines above say why"
                        )
                if note.done():
                    ready = _ready_worker(note.result())
                    if ready is not None:
                        waiting.discard(ready)
                    note = None
        finally:
            for future in [*exits.values(), *([note] if note else [])]:
                future.cancel()

    async def _drain(self) -> None:
        """Read what workers report later (a restarted one's READY=1, STOPPING=1)."""
        loop = asyncio.get_running_loop()
        while True:
            ready = _ready_worker(await loop.sock_recv(self._notify, 4096))
            if ready is not None:
                log.info("relay worker %d ready", ready)

    async def _watch(self, index: int) -> None:
        """Restart the worker whenever it exits while the relay runs."""
        while True:
            returncode = await self._processes[index].wait()
            if self._stopping:
                return
            log.error("relay worker %d exited with %s; restarting it", index, returncode)
            await asyncio.sleep(RESTART_DELAY)
            if self._stopping:
                return
            await self._spawn(index)

    def signal_reload(self) -> None:
        """SIGHUP to every worker: each reloads its configuration."""
        for process in self._processes.values():
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGHUP)

    def signal_stop(self) -> None:
        """SIGTERM to every worker: they stop accepting and finish what they do."""
        self._stopping = True
        for process in self._processes.values():
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.terminate()

    async def stop(self, grace: float = 60.0) -> None:
        """Stop every worker (SIGKILL for one still running after `grace` seconds)."""
        self.signal_stop()
        for task in self._watchers:
            task.cancel()
        for index, process in self._processes.items():
            try:
                await asyncio.wait_for(process.wait(), grace)
            except TimeoutError:
                log.warning("relay worker %d did not stop in %.0f s: killed", index, grace)
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        self._notify.close()
