"""Fixtures for the hardening tests: those of the delivery tests (a relay in
the test's loop, its config copy, environment, store and keyring, and the
helpers for relay processes), re-used as they are."""

from __future__ import annotations

import importlib.util
from pathlib import Path

DELIVERY_TESTS = Path(__file__).parents[1] / "delivery"


def _delivery_conftest():
    spec = importlib.util.spec_from_file_location(
        "delivery_tests_conftest_for_hardening", DELIVERY_TESTS / "conftest.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # also puts workerprocs and relayclient on sys.path
    return module


_shared = _delivery_conftest()
config_dir = _shared.config_dir
relay_env = _shared.relay_env
store = _shared.store
keyring = _shared.keyring
start_relay = _shared.start_relay
FAST_RETRY = _shared.FAST_RETRY
