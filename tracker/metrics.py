"""`/metrics` for Prometheus: the relay's counters (when it runs in this process)
and the tracker's event writer, read at scrape time.

The tracker faces the internet, so `/metrics` answers only to the networks in
`tracker.metrics_networks` (default: loopback). Nothing here is personal data;
it is still nobody else's business how much mail the company sends.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Iterator, Sequence
from ipaddress import IPv4Network, IPv6Network

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from tracker.events import EventSink

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LOOPBACK: tuple[IPv4Network | IPv6Network, ...] = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
)


class WriterCollector(Collector):
    """The event writer's own counts, and the tracker's refused tokens."""

    def __init__(self, writer: EventSink, refused_tokens: Callable[[], int] | None) -> None:
        self.writer = writer
        self.refused_tokens = refused_tokens

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        writer = self.writer
        yield GaugeMetricFamily(
            "sigrelay_events_pending", "Events in memory, not yet stored.", value=writer.pending
        )
        yield GaugeMetricFamily(
            "sigrelay_events_journaled",
            "Events in the local journal, waiting for the store to come back.",
            value=writer.journaled,
        )
        yield CounterMetricFamily(
            "sigrelay_events_written", "Events written to the store.", value=writer.written
        )
        yield CounterMetricFamily(
            "sigrelay_events_dropped",
            "Events dropped because the writer was full or closed.",
            value=writer.dropped,
        )
        if self.refused_tokens is not None:
            yield CounterMetricFamily(
                "sigrelay_tracker_refused_tokens",
                "Pixel, banner and click requests whose token was not ours (forged, "
                "altered, cut short, of another kind): they counted nothing.",
                value=self.refused_tokens(),
            )


def tracker_registry(
    writer: EventSink, refused_tokens: Callable[[], int] | None = None
) -> CollectorRegistry:
    """`refused_tokens`: the tracker app's count (`app[tracker.app.REFUSED_TOKENS]`)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(WriterCollector(writer, refused_tokens))
    return registry


def render(registries: Iterable[CollectorRegistry]) -> bytes:
    return b"".join(generate_latest(registry) for registry in registries)


def add_routes(
    app: web.Application,
    registries: Sequence[CollectorRegistry],
    allowed: Sequence[IPv4Network | IPv6Network] = LOOPBACK,
) -> None:
    async def metrics(request: web.Request) -> web.Response:
        # The socket's peer, never X-Forwarded-For: a header cannot open the door.
        try:
            peer = ipaddress.ip_address(request.transport.get_extra_info("peername")[0])
        except (TypeError, ValueError, AttributeError):
            raise web.HTTPForbidden(text="metrics are not available from here\n") from None
        if not any(peer in network for network in allowed):
            raise web.HTTPForbidden(text="metrics are not available from here\n")
        return web.Response(body=render(registries), headers={"Content-Type": CONTENT_TYPE})

    app.router.add_get("/metrics", metrics)
