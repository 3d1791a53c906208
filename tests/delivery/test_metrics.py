"""The relay's Prometheus metrics, read the way a scraper reads them."""

from __future__ import annotations

from collections.abc import Callable

from relayclient import DeliveryWatch, smtp_send

from proxy.metrics import REGISTRY, render_metrics
from smtpsink import SmtpSink

SALES = "anna.schmidt@example.com"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def deltas(names: list[tuple[str, dict]]) -> Callable[[], list[float]]:
    """Counters are process-wide: tests compare before and after."""
    before = [sample(name, **labels) for name, labels in names]
    return lambda: [
        sample(name, **labels) - old for (name, labels), old in zip(names, before, strict=True)
    ]


async def test_counters_follow_one_message_with_a_refused_recipient(start_relay, sink: SmtpSink):
    sink.handler.fail_with = {"gone@customer.test": "550 5.1.1 no such user"}
    relay = await start_relay()
    watch = DeliveryWatch(relay.worker)
    changed = deltas([
        ("sigrelay_messages_accepted_total", {}),
        ("sigrelay_recipients_delivered_total", {}),
        ("sigrelay_recipients_bounced_total", {}),
        ("sigrelay_dsn_sent_total", {}),
        ("sigrelay_copies_rewrite_total", {"outcome": "rewritten", "reason": ""}),
    ])  # fmt: skip

    await smtp_send(relay.address[1], SALES, ["kim@customer.test", "gone@customer.test"])
    await watch.until(lambda: len(watch.done) == 2)  # the message and its DSN

    # accepted: the client's message only; delivered: kim and the DSN to the
    # sender; bounced: gone; rewritten: the two copies (the DSN passes unchanged).
    assert changed() == [1, 2, 1, 1, 2]


async def test_deferred_recipients_and_spool_depth_while_the_upstream_is_down(
    start_relay, sink: SmtpSink
):
    await sink.stop()
    relay = await start_relay()
    watch = DeliveryWatch(relay.worker)
    deferred = deltas([("sigrelay_recipients_deferred_total", {})])

    await smtp_send(relay.address[1], SALES, ["kim@customer.test"])
    await watch.until(lambda: len(watch.attempts) >= 1)

    assert deferred() == [len(watch.attempts)], "one deferred recipient per failed attempt"
    assert sample("sigrelay_spool_messages") == 1
    assert sample("sigrelay_spool_oldest_age_seconds") > 0


async def test_latency_is_observed_per_delivered_copy(start_relay, sink: SmtpSink):
    relay = await start_relay()
    watch = DeliveryWatch(relay.worker)
    observed = deltas([("sigrelay_delivery_latency_seconds_count", {})])

    await smtp_send(relay.address[1], SALES, ["kim@customer.test", "lee@partner.test"])
    await watch.until(lambda: len(watch.done) == 1)

    assert observed() == [2]


def test_render_metrics_is_the_prometheus_text_format():
    text = render_metrics().decode()
    assert "# TYPE sigrelay_messages_accepted_total counter" in text
    assert "# TYPE sigrelay_delivery_latency_seconds histogram" in text
    assert "sigrelay_spool_messages " in text
