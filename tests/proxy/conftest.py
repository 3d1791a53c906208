"""Fixtures for the proxy tests: real listeners on free loopback ports.

`listening_handler` serves a RelayHandler the way the relay does (aiosmtpd's
SMTP protocol through loop.create_server, in the test's own loop); `sink` is
the upstream that keeps what it receives (tests/smtpsink.py).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from proxy.server import RelayHandler, smtp_factory
from proxy.spool import Spool
from smtpsink import SmtpSink

# With --import-mode=importlib a test folder is not on sys.path by itself;
# the tests import their helpers from relayclient.py.
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
async def sink() -> AsyncIterator[SmtpSink]:
    sink = SmtpSink()
    await sink.start()
    yield sink
    await sink.stop()


@pytest.fixture
def spool(tmp_path: Path) -> Spool:
    return Spool(tmp_path / "spool")


@pytest.fixture
async def listening_handler(
    unused_port: int,
) -> AsyncIterator[Callable[[RelayHandler], Awaitable[int]]]:
    servers: list[asyncio.Server] = []

    async def listen(handler: RelayHandler) -> int:
        loop = asyncio.get_running_loop()
        factory = smtp_factory(handler, hostname="relay.test")
        servers.append(await loop.create_server(factory, "127.0.0.1", unused_port))
        return unused_port

    yield listen
    for server in servers:
        server.close()
        await server.wait_closed()
