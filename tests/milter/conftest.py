"""`sigrelay milter` as its own process, and a private Postfix that calls it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from peers import free_port, missing_peer, wait_listening
from postfixpeer import postfix  # noqa: F401  (the fixture)

SIGRELAY = str(Path(sys.executable).parent / "sigrelay")
# swaks as relay_security runs it (tests/relay_security/swaks.py).
sys.path.insert(0, str(Path(__file__).parent.parent / "relay_security"))


@pytest.fixture
def milter_process(tmp_path: Path) -> Iterator[int]:
    """`sigrelay milter` listening on a loopback port (the example config); its port."""
    try:
        import Milter  # noqa: F401
    except ImportError:
        missing_peer("pymilter is not installed (pip install 'sigrelay[milter]')")
    port = free_port()
    env = os.environ | {"SIGRELAY_DATA": str(tmp_path / "data")}
    process = subprocess.Popen(
        [SIGRELAY, "milter", "--socket", f"inet:{port}@127.0.0.1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_listening(process, port, timeout=30)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
