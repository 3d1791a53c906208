"""Webhooks: signed JSON batches to a real receiver on loopback, retried after a 5xx."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from landingsite import serve

from tracker.recipients import recipient_key
from tracker.store import CopyRecord, EventRecord
from tracker.store.optout import opt_out
from tracker.webhooks import (
    SIGNATURE_HEADER,
    Retry,
    Webhook,
    WebhookDispatcher,
    describe_from_store,
)

SECRET = b"webhook-secret-of-the-crm"
AT = datetime(2025, 6, 1, 12, tzinfo=UTC)
FAST = Retry(attempts=3, initial=0.01)


@dataclass
class Receiver:
    """A CRM's endpoint: answers the statuses it is told to, in order, then 200."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    signatures: list[str] = field(default_factory=list)
    accepted: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.read())
        self.signatures.append(request.headers.get(SIGNATURE_HEADER, ""))
        status = self.statuses.pop(0) if self.statuses else 200
        if status == 200:
            self.accepted.set()
        return web.Response(status=status)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner, url = await serve(app)
    receiver.url = f"{url}/hook"
    yield receiver
    await runner.cleanup()


def verify(body: bytes, header: str) -> bool:
    """What the receiver does (README): recompute the HMAC, compare in constant time."""
    expected = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


async def _dispatch(receiver: Receiver, events: list[EventRecord], **kwargs) -> WebhookDispatcher:
    hook = Webhook(receiver.url, frozenset({"click", "visit"}), SECRET)
    dispatcher = WebhookDispatcher([hook], retry=FAST, **kwargs)
    await dispatcher.start()
    for event in events:
        dispatcher.submit(event)
    await asyncio.wait_for(receiver.accepted.wait(), 10)
    await dispatcher.close()
    return dispatcher


async def test_events_arrive_signed_with_the_secret(receiver: Receiver):
    await _dispatch(
        receiver,
        [
            EventRecord(
                "00112233445566aa", "click", AT, "scanner", "https://x.test/", reason="scanner:head"
            )
        ],
    )
    (body,), (header,) = receiver.bodies, receiver.signatures
    assert verify(body, header)
    (event,) = json.loads(body)["events"]
    assert (event["kind"], event["target"], event["at"]) == (
        "click",
        "https://x.test/",
        AT.isoformat(),
    )
    assert (event["verdict"], event["reason"]) == ("scanner", "scanner:head")


async def test_a_500_is_retried_and_the_same_signed_batch_arrives(receiver: Receiver):
    receiver.statuses = [500]
    dispatcher = await _dispatch(receiver, [EventRecord("00112233445566aa", "click", AT)])
    assert len(receiver.bodies) == 2 and receiver.bodies[0] == receiver.bodies[1]
    assert all(verify(b, s) for b, s in zip(receiver.bodies, receiver.signatures, strict=True))
    assert dispatcher.delivered == 1


async def test_only_the_configured_kinds_are_sent(receiver: Receiver):
    events = [
        EventRecord("00112233445566aa", "open", AT),
        EventRecord("00112233445566aa", "visit", AT),
    ]
    await _dispatch(receiver, events)
    kinds = [e["kind"] for body in receiver.bodies for e in json.loads(body)["events"]]
    assert kinds == ["visit"]


async def test_events_carry_what_the_copy_keeps_under_its_privacy_mode(receiver, store):
    personal = CopyRecord("00000000000000a1", "q", AT, "anna@example.com", "sales", "personal",
                          "spring", "a", "kim@customer.test", "customer.test")  # fmt: skip
    anonymous = CopyRecord("00000000000000a2", "q", AT, "ben@example.com", "staff", "anonymous",
                           "spring", "b", None, None)  # fmt: skip
    await store.record_copies([personal, anonymous])
    events = [
        EventRecord(personal.copy_id, "click", AT),
        EventRecord(anonymous.copy_id, "click", AT),
    ]
    await _dispatch(receiver, events, describe=describe_from_store(store))
    sent = {e["copy_id"]: e for body in receiver.bodies for e in json.loads(body)["events"]}
    assert (sent[personal.copy_id]["recipient"], sent[personal.copy_id]["campaign"]) == (
        "kim@customer.test",
        "spring",
    )
    assert (sent[anonymous.copy_id]["recipient"], sent[anonymous.copy_id]["domain"]) == (None, None)


async def test_opted_out_recipients_events_are_sent_as_they_chose(receiver, store):
    key = b"webhook-tests-pseudonym-key-0001"
    kim, lee, ann = (
        CopyRecord(f"00000000000000b{n}", "q", AT, "anna@example.com", "sales", "personal",
                   "spring", "a", f"{name}@customer.test", "customer.test")
        for n, name in ((1, "kim"), (2, "lee"), (3, "ann"))
    )  # fmt: skip
    await store.record_copies([kim, lee, ann])
    await opt_out(store, recipient_key(kim.recipient, key), "untracked", AT)
    await opt_out(store, recipient_key(lee.recipient, key), "anonymous", AT)
    later = AT + timedelta(minutes=1)
    events = [
        EventRecord(c.copy_id, "click", later, target="https://x.test/") for c in (kim, lee, ann)
    ]
    await _dispatch(receiver, events, describe=describe_from_store(store, key))
    sent = [e for body in receiver.bodies for e in json.loads(body)["events"]]
    assert [(e["copy_id"], e["recipient"], e["domain"], e["campaign"]) for e in sent] == [
        (None, None, None, "spring"),  # Lee: counted, never linked to Lee
        (ann.copy_id, "ann@customer.test", "customer.test", "spring"),
    ]  # Kim: not sent at all
