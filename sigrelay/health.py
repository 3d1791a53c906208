"""How the running configuration fares, for /metrics and /healthz: when it was
last loaded, and whether the last change was rejected (the running config then
stays, and says so here until a good load)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from config.watch import ReloadStatus

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
