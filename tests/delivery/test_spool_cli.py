"""`sigrelay spool list|retry|drop`: what an admin sees and can do with the queue."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner, Result
from relayclient import DeliveryWatch, smtp_send

from proxy.backoff import RetryPolicy
from proxy.spool import Envelope, Spool
from proxy.state import CopyState, MessageState
from sigrelay.cli import main
from smtpsink import SinkHandler, SmtpSink

LATER = datetime.now(UTC) + timedelta(hours=1)


def sigrelay(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, ["spool", *args], env=env, catch_exceptions=False)


def deferred_message(spool: Spool) -> str:
    envelope = Envelope("anna.schmidt@example.com", ("kim@customer.test", "lee@partner.test"),
                        datetime.now(UTC))  # fmt: skip
    queue_id = spool.put(envelope, b"Subject: offer\r\n\r\nHello\r\n")
    copies = (
        CopyState("c1", ("kim@customer.test",), True, "personal", delivered=("kim@customer.test",)),
        CopyState("c2", ("lee@partner.test",), True, "personal", attempts=2, next_attempt=LATER,
                  last_error="451 4.3.0 try again later"),
    )  # fmt: skip
    spool.save_state(queue_id, MessageState("anna.schmidt@example.com", "sales", copies))
    spool.defer(queue_id)
    return queue_id


def spool_of(relay_env: dict[str, str]) -> Spool:
    return Spool(Path(relay_env["SIGRELAY_DATA"]) / "spool")


def test_list_shows_sender_pending_copies_next_attempt_and_last_error(relay_env):
    queue_id = deferred_message(spool_of(relay_env))

    result = sigrelay(relay_env, "list", "--json")

    (row,) = json.loads(result.output)["messages"]
    assert row["queue_id"] == queue_id
    assert (row["sender"], row["recipients"], row["pending"], row["failed"]) == (
        "anna.schmidt@example.com", 2, 1, 0)  # fmt: skip
    assert row["next_attempt"] == LATER.isoformat(timespec="seconds")
    assert row["last_error"] == "451 4.3.0 try again later"


def test_list_as_a_table_names_the_message_and_its_error(relay_env):
    queue_id = deferred_message(spool_of(relay_env))
    output = sigrelay(relay_env, "list").output
    assert queue_id in output and "last error: 451 4.3.0 try again later" in output


def test_drop_needs_yes_and_then_removes_the_message(relay_env):
    spool = spool_of(relay_env)
    queue_id = deferred_message(spool)

    refused = CliRunner().invoke(main, ["spool", "drop", queue_id], env=relay_env)
    assert refused.exit_code != 0 and spool.list() == [queue_id]

    assert sigrelay(relay_env, "drop", queue_id, "--yes").exit_code == 0
    assert spool.list() == []
    assert spool.load_state(queue_id) is None


def test_drop_of_an_unknown_id_is_an_error(relay_env):
    result = CliRunner().invoke(main, ["spool", "drop", "1K0000000000000000A", "--yes"],
                                env=relay_env)  # fmt: skip
    assert result.exit_code == 1 and "not in the spool" in result.output


class AcceptsOnlyAfterFirstTry(SinkHandler):
    refused = 1

    async def handle_RCPT(self, server, session, envelope, address, options):
        if self.refused:
            self.refused -= 1
            return "451 4.3.0 try again later"
        return await super().handle_RCPT(server, session, envelope, address, options)


async def test_retry_makes_a_running_relay_deliver_a_deferred_copy_now(
    start_relay, sink: SmtpSink, relay_env
):
    sink.handler = AcceptsOnlyAfterFirstTry()
    hour = RetryPolicy(initial=3600, maximum=3600, jitter=0)  # only retry can bring it out
    relay = await start_relay(hour)
    watch = DeliveryWatch(relay.worker)
    await smtp_send(relay.address[1], "anna.schmidt@example.com", ["kim@customer.test"])
    await watch.until(lambda: len(watch.attempts) == 1)

    result = await asyncio.to_thread(sigrelay, relay_env, "retry")
    await watch.until(lambda: len(watch.done) == 1)

    assert result.output == "1 message(s) due now\n"
    assert [r.rcpt_tos for r in sink.handler.received] == [("kim@customer.test",)]


class DeliveredWhileListed(Spool):
    """The spool as `spool retry` can find it beside a running relay: the oldest
    message is delivered and removed just after list() named it."""

    def list(self) -> list[str]:
        ids = super().list()
        delivered = CopyState("c1", ("kim@customer.test",), True, "personal",
                              delivered=("kim@customer.test",))  # fmt: skip
        self.remove(ids[0], MessageState("anna.schmidt@example.com", "sales", (delivered,)))
        return ids


def test_retry_skips_a_message_delivered_while_it_ran(relay_env):
    root = spool_of(relay_env).root
    gone, waiting = deferred_message(Spool(root)), deferred_message(Spool(root))
    spool = DeliveredWhileListed(root)

    assert spool.make_all_due() == [waiting]  # what `sigrelay spool retry` does

    assert spool.load_state(gone) is None
    state = spool.load_state(waiting)
    assert state is not None and [c.next_attempt for c in state.copies] == [None, None]
