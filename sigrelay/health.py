"""How the running configuration fares, for /metrics and /healthz: when it was
last loaded, and whether the last change was rejected (the running config then
stays, and says so here until a good load). And the quick start's way into
the dashboard."""

from __future__ import annotations

import ipaddress
import secrets
import sys
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from config import Config
from config.watch import ReloadStatus
from tracker.dashboard.auth import hash_password

DEMO_ADMIN = "admin"

StatusSource = Callable[[], ReloadStatus | None]


class ReloadCollector(Collector):
    def __init__(self, status: StatusSource) -> None:
        self.status = status

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        status = self.status()
        if status is None:  # not watching (yet)
            return
        yield CounterMetricFamily(
            "sigrelay_config_reload_failures",
            "Configuration changes rejected since start (the running config stayed).",
            value=status.failures,
        )
        yield GaugeMetricFamily(
            "sigrelay_config_last_reload_success_timestamp_seconds",
            "When the running configuration was loaded (Unix time).",
            value=status.loaded_at.timestamp(),
        )
        yield GaugeMetricFamily(
            "sigrelay_config_reload_ok",
            "1 if the last change of the configuration was applied, 0 if rejected.",
            value=1 if status.ok else 0,
        )


def config_registry(status: StatusSource) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ReloadCollector(status))
    return registry


def demo_admin(cfg: Config, *, interactive: bool) -> tuple[str, str] | None:
    """The quick start's way into the dashboard: with no admin configured, a
    tracker on loopback and a person at the terminal (`make run`), an admin for
    this run only, its password printed to the terminal. Never under systemd or
    in a container (no terminal: the password would land in the journal), never
    on a public address, never beside configured admins."""
    host = cfg.tracker.address[0]
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if cfg.admins or not loopback or not interactive:
        return None
    password = secrets.token_urlsafe(12)
    url = f"{cfg.tracker.public_url}/admin/login"
    print(
        f"\n  Dashboard: {url}\n  name: {DEMO_ADMIN}   password: {password}\n"
        "  (for this run only: add [[admins]] to sigrelay.toml for a lasting login,\n"
        "   see `sigrelay admin hash`)\n",
        file=sys.stderr,
        flush=True,
    )
    return DEMO_ADMIN, hash_password(password)
