"""systemd's notify protocol (sd_notify(3)), without a dependency.

A unit with `Type=notify` passes the path of a datagram socket in
$NOTIFY_SOCKET; the service sends `READY=1` once it serves, `WATCHDOG=1`
at least every half of $WATCHDOG_USEC (systemd restarts it when the pings
stop: a hung event loop cannot send them), and `STOPPING=1` when it begins
to shut down. Outside systemd the variable is unset and nothing is sent.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger("sigrelay.sdnotify")


def notify(state: str, env: Mapping[str, str] = os.environ) -> bool:
    """Send one state message; False when not run under systemd or it failed."""
    address = env.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket (Linux)
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError as exc:  # systemd gone or socket not writable: never fatal
        log.warning("sd_notify %s failed: %s", state.split("=", 1)[0], exc)
        return False
    return True


def watchdog_interval(env: Mapping[str, str] = os.environ) -> float | None:
    """Seconds between watchdog pings (half the timeout), or None when off."""
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or (pid.isdigit() and int(pid) != os.getpid()):
        return None
    return int(usec) / 1_000_000 / 2


async def keep_watchdog_fed(interval: float, env: Mapping[str, str] = os.environ) -> None:
    """Ping until cancelled; runs in the service's event loop, so a blocked loop stops it."""
    while True:
        notify("WATCHDOG=1", env)
        await asyncio.sleep(interval)
