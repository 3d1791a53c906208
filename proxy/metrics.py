"""Prometheus metrics of the relay, in one registry of its own.

The tracker serves them at /metrics through `render_metrics()`. Counters
count recipients where a copy's fate is per recipient (delivered, deferred,
bounced) and messages where the client's transaction is (accepted, rejected).
Spool depth and the age of the oldest message are read from the spool when
scraped, so they are right even after a restart or an admin's `spool drop`.

Labels are bounded sets (reasons are slugs or exception class names, never
addresses or texts from the network), so a series cannot explode.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from proxy.spool import Spool, queue_id_time

REGISTRY = CollectorRegistry(auto_describe=True)

ACCEPTED = Counter(
    "sigrelay_messages_accepted", "Messages spooled and answered 250.", registry=REGISTRY
)
REJECTED = Counter(
    "sigrelay_messages_rejected",
    "Transactions refused, by reason (auth, sender, size, spool-full, ...).",
    ["reason"],
    registry=REGISTRY,
)
REWRITES = Counter(
    "sigrelay_copies_rewrite",
    "Copies by rewrite outcome (rewritten, skipped, failed) and reason.",
    ["outcome", "reason"],
    registry=REGISTRY,
)
DELIVERED = Counter(
    "sigrelay_recipients_delivered", "Recipients the upstream accepted.", registry=REGISTRY
)
DEFERRED = Counter(
    "sigrelay_recipients_deferred",
    "Recipient attempts that failed temporarily (retried later).",
    registry=REGISTRY,
)
BOUNCED = Counter(
    "sigrelay_recipients_bounced",
    "Recipients failed for good (permanent reply or maximum age).",
    registry=REGISTRY,
)
LOOPS = Counter(
    "sigrelay_loops",
    "Copies that arrived already carrying our processed header (a mail loop through "
    "the provider), passed on unchanged.",
    registry=REGISTRY,
)
SENT_ITEMS = Counter(
    "sigrelay_sent_items",
    "Copies for senders' Sent folders, by outcome (appended, replaced, failed).",
    ["outcome"],
    registry=REGISTRY,
)
POISONED = Counter(
    "sigrelay_poisoned",
    "Messages (kind=message, copy) and sent facts (kind=facts) set aside because "
    "processing them crashed; see `sigrelay spool list`.",
    ["kind"],
    registry=REGISTRY,
)
DSNS = Counter("sigrelay_dsn_sent", "Delivery status notifications spooled.", registry=REGISTRY)
LATENCY = Histogram(
    "sigrelay_delivery_latency_seconds",
    "From acceptance to the upstream's 250, per delivered copy.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86400),
    registry=REGISTRY,
)


class SpoolCollector(Collector):
    """Depth and oldest age of the spools of the relays running in this process."""

    def __init__(self) -> None:
        self.spools: list[Spool] = []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        ids = [queue_id for spool in self.spools for queue_id in spool.list()]
        depth = GaugeMetricFamily("sigrelay_spool_messages", "Messages waiting in the spool.")
        depth.add_metric([], len(ids))
        oldest = GaugeMetricFamily(
            "sigrelay_spool_oldest_age_seconds", "Age of the oldest spooled message (0: empty)."
        )
        oldest.add_metric([], max(0.0, time.time() - queue_id_time(min(ids))) if ids else 0.0)
        yield depth
        yield oldest

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())  # collected only when scraped: the spool is read then


SPOOLS = SpoolCollector()
REGISTRY.register(SPOOLS)


def watch_spool(spool: Spool) -> None:
    SPOOLS.spools.append(spool)


def unwatch_spool(spool: Spool) -> None:
    if spool in SPOOLS.spools:
        SPOOLS.spools.remove(spool)


def rewrite_reason(reason: str) -> str:
    """A bounded label: a skip's slug, or a failure's exception class name."""
    return reason.split(":", 1)[0].strip()[:64] if reason else ""


def render_metrics() -> bytes:
    """The Prometheus text exposition of everything above."""
    return generate_latest(REGISTRY)


CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
