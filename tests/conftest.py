"""Fixtures shared by every test folder. Folder-specific fixtures live in the
folder's own conftest.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from peers import free_port
from smtpsink import SmtpSink


@pytest.fixture
def unused_port() -> int:
    return free_port()


@pytest.fixture
async def sink() -> AsyncIterator[SmtpSink]:
    """A real SMTP server on loopback that keeps what it receives (the upstream)."""
    sink = SmtpSink()
    await sink.start()
    yield sink
    await sink.stop()
