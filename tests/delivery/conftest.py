"""Fixtures for the delivery tests: a whole relay in the test's loop on the
example configuration with an aiosmtpd sink as its upstream.

The sink, config copy, environment, store and keyring are the proxy tests'
own fixtures (tests/proxy/conftest.py), re-used here; `start_relay` adds a
choice of retry policy (maximum age) and a relay hostname to look for in
trace headers and DSNs.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from config import load_config
from config.running import RunningConfig
from peers import load_conftest
from postfixpeer import postfix  # noqa: F401  (the fixture, for test_postfix*.py)
from proxy.backoff import RetryPolicy
from proxy.relay import Relay
from proxy.upstream import Upstream

PROXY_TESTS = Path(__file__).parents[1] / "proxy"
sys.path.insert(0, str(PROXY_TESTS))  # relayclient: smtplib sender, DeliveryWatch
sys.path.insert(0, str(Path(__file__).parent))  # workerprocs: relay processes from outside


_shared = load_conftest("proxy", "proxy_tests_conftest")
config_dir = _shared.config_dir
relay_env = _shared.relay_env
store = _shared.store
keyring = _shared.keyring
FAST_RETRY = _shared.FAST_RETRY
RELAY_HOSTNAME = "relay.example.com"


@pytest.fixture
async def start_relay(relay_env: dict[str, str], store, keyring) -> AsyncIterator[Callable]:
    """Start a relay with `retry` (default: fast) and, if given, its own
    `upstream` client; all are stopped at the end."""
    running: list[Relay] = []

    async def start(
        retry: RetryPolicy = FAST_RETRY, upstream: Upstream | None = None, **env_changes: str
    ) -> Relay:
        env = {**relay_env, "SIGRELAY_RELAY__HOSTNAME": RELAY_HOSTNAME, **env_changes}
        cfg = load_config(env=env)
        relay = Relay(
            RunningConfig(cfg), store, keyring, retry=retry, upstream=upstream, store_retry=0.05
        )
        await relay.start()
        running.append(relay)
        return relay

    yield start
    for relay in running:
        await relay.stop()
