"""Fixtures for the hardening tests: those of the delivery tests (a relay in
the test's loop, its config copy, environment, store and keyring, and the
helpers for relay processes), re-used as they are."""

from __future__ import annotations

from peers import load_conftest

# also puts workerprocs and relayclient on sys.path
_shared = load_conftest("delivery", "delivery_tests_conftest_for_hardening")
config_dir = _shared.config_dir
relay_env = _shared.relay_env
store = _shared.store
keyring = _shared.keyring
start_relay = _shared.start_relay
FAST_RETRY = _shared.FAST_RETRY
