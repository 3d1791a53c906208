"""Fixtures shared by every test folder. Folder-specific fixtures live in the
folder's own conftest.py."""

from __future__ import annotations

import pytest

from peers import free_port


@pytest.fixture
def unused_port() -> int:
    return free_port()
