"""Fixtures for the client-facing security tests: a real Relay with TLS
listeners, a users file, self-signed certificates and swaks as the client.

The relay fixtures (sink, config_dir, store, keyring, start_relay) are the
proxy tests' own, loaded from tests/proxy/conftest.py rather than copied.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from config.schema import ListenerMode
from peers import free_port
from proxy.auth.users import add_user

sys.path.insert(0, str(Path(__file__).parent))
from securerelay import ANNA, ANNA_PASSWORD, NOT_TRUSTED, SecureRelay, make_certificate  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    "proxy_test_fixtures", Path(__file__).parents[1] / "proxy" / "conftest.py"
)
assert _spec and _spec.loader
_proxy_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_proxy_fixtures)
config_dir = _proxy_fixtures.config_dir
relay_env = _proxy_fixtures.relay_env
keyring = _proxy_fixtures.keyring
store = _proxy_fixtures.store
start_relay = _proxy_fixtures.start_relay


@pytest.fixture
async def secure_relay(tmp_path: Path, start_relay, relay_env: dict[str, str]):
    """Submission, smtps and plain listeners with TLS and one user (Anna);
    loopback is NOT a trusted network here, so only AUTH lets a client relay."""

    async def start(**env_changes: str) -> SecureRelay:
        cert, key = make_certificate(tmp_path)
        users = tmp_path / "users"
        add_user(users, ANNA, ANNA_PASSWORD)
        ports = {mode: free_port() for mode in ListenerMode}
        listeners = ", ".join(
            f'{{listen = "127.0.0.1:{port}", mode = "{mode.value}"}}'
            for mode, port in ports.items()
        )
        env = {
            "SIGRELAY_RELAY__LISTENERS": f"[{listeners}]",
            "SIGRELAY_RELAY__TLS_CERT": str(cert),
            "SIGRELAY_RELAY__TLS_KEY": str(key),
            "SIGRELAY_RELAY__USERS_FILE": str(users),
            "SIGRELAY_RELAY__TRUSTED_NETWORKS": NOT_TRUSTED,
            "SIGRELAY_RELAY__AUTH_FAILURE_DELAY": "0.01",
            **env_changes,
        }
        relay = await start_relay(**env)
        return SecureRelay(relay, ports, cert, key, users, {**relay_env, **env})

    return start
