"""Signed webhooks: events as JSON to the admin's endpoints (a CRM, a chat bot).

A listener of the event pipeline (tracker/events/sink.py): told of events
once they are read. Each `[[webhooks]]` entry gets its own queue and sender
task, so a slow or failing endpoint delays nobody else, and the tracker never
waits: `submit` only puts the event on the queues (a full queue drops the event with a
warning rather than holding a redirect). Events go in batches:

    POST <url>   Content-Type: application/json
    X-Sigrelay-Signature: sha256=<hex HMAC-SHA256 of the body with the secret>
    {"events": [{"kind", "at", "verdict", "reason", "copy_id", "target",
                 "campaign", "variant", "group", "sender", "recipient", "domain"}]}

The copy's fields are what the store keeps under the copy's privacy mode: a
personal copy names its recipient, a domain copy only the domain, an
anonymous copy neither. A 5xx answer or no answer is retried with exponential
back-off; a 4xx is the receiver's refusal and is not.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from sqlalchemy import select

from tracker.store import EventRecord
from tracker.store.models import copies
from tracker.store.optout import OptOutChoice
from tracker.store.withdrawal import withdrawn_copies

log = logging.getLogger("sigrelay.tracker.webhooks")

SIGNATURE_HEADER = "X-Sigrelay-Signature"
WITHDRAWN = "withdrawn"  # a described copy's opt-out (tracker/store/withdrawal.py Withdrawn)
COPY_FIELDS = ("campaign", "variant", "group", "sender", "privacy", "recipient", "domain")

Describe = Callable[[list[str]], Awaitable[Mapping[str, Mapping[str, Any]]]]


@dataclass(frozen=True)
class Webhook:
    url: str
    events: frozenset[str]
    secret: bytes


def signature(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def describe_from_store(store: Any, pseudonym_key: bytes | None = None) -> Describe:
    """The copies' stored fields by copy id (one query per batch). With the
    pseudonym key, a copy whose recipient opted out also carries the opt-out
    (WITHDRAWN), which the payload honours as the store does (withdrawal.py)."""

    async def describe(copy_ids: list[str]) -> Mapping[str, Mapping[str, Any]]:
        columns = [copies.c.copy_id, *(copies.c[name] for name in COPY_FIELDS)]
        async with store.engine.connect() as conn:
            found = await conn.execute(select(*columns).where(copies.c.copy_id.in_(copy_ids)))
            described = {row["copy_id"]: dict(row) for row in found.mappings()}
        if pseudonym_key is not None:
            recipients = {copy_id: row["recipient"] for copy_id, row in described.items()}
            for copy_id, withdrawn in (
                await withdrawn_copies(store, pseudonym_key, recipients)
            ).items():
                described[copy_id][WITHDRAWN] = withdrawn
        return described

    return describe


def as_withdrawn(event: EventRecord, copy: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The copy's fields as an opt-out lets them be sent: None for an event not
    to be sent at all ("do not track me"), without recipient, domain and copy
    id ("count me only anonymously"), from the moment of the opt-out on."""
    withdrawn = copy.get(WITHDRAWN)
    if withdrawn is None or event.kind == "optout" or event.at < withdrawn.at:
        return copy
    if withdrawn.choice == OptOutChoice.UNTRACKED:
        return None
    return {**copy, "recipient": None, "domain": None, "copy_id": None}


@dataclass(frozen=True)
class Retry:
    attempts: int = 6
    initial: float = 1.0  # seconds; doubled after each failure
    maximum: float = 300.0


class _Endpoint:
    def __init__(self, hook: Webhook, capacity: int) -> None:
        self.hook = hook
        self.queue: asyncio.Queue[EventRecord] = asyncio.Queue(capacity)
        self.task: asyncio.Task[None] | None = None


class WebhookDispatcher:
    def __init__(
        self,
        hooks: Iterable[Webhook],
        *,
        describe: Describe | None = None,
        retry: Retry = Retry(),
        batch_size: int = 100,
        capacity: int = 10_000,
    ) -> None:
        self.endpoints = [_Endpoint(hook, capacity) for hook in hooks]
        self.describe = describe
        self.retry = retry
        self.batch_size = batch_size
        self._session: aiohttp.ClientSession | None = None
        self.delivered = 0  # events accepted by receivers (for tests and metrics)
        # The event kinds some hook wants (a Listener, tracker/events/sink.py).
        self.kinds = frozenset(kind for hook in self.endpoints for kind in hook.hook.events)

    def submit(self, event: EventRecord) -> None:
        """Never blocks, never raises."""
        for endpoint in self.endpoints:
            if event.kind not in endpoint.hook.events:
                continue
            try:
                endpoint.queue.put_nowait(event)
            except asyncio.QueueFull:
                log.warning("webhook queue full, event dropped url=%s", endpoint.hook.url)

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        for endpoint in self.endpoints:
            endpoint.task = asyncio.create_task(self._run(endpoint), name="sigrelay-webhook")

    async def close(self, drain_timeout: float = 5.0) -> None:
        """Send what is queued (for at most `drain_timeout`), then stop."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(drain_timeout):
                for endpoint in self.endpoints:
                    await endpoint.queue.join()
        for endpoint in self.endpoints:
            if endpoint.task is not None:
                endpoint.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await endpoint.task
        if self._session is not None:
            await self._session.close()

    async def _run(self, endpoint: _Endpoint) -> None:
        queue = endpoint.queue
        while True:
            batch = [await queue.get()]
            while len(batch) < self.batch_size and not queue.empty():
                batch.append(queue.get_nowait())
            try:
                await self._deliver(endpoint.hook, batch)
            except Exception:
                log.exception("webhook batch lost url=%s events=%d", endpoint.hook.url, len(batch))
            finally:
                for _ in batch:
                    queue.task_done()

    async def _payload(self, batch: list[EventRecord]) -> bytes:
        described: Mapping[str, Mapping[str, Any]] = {}
        if self.describe is not None:
            try:
                described = await self.describe(sorted({e.copy_id for e in batch}))
            except Exception as exc:  # the store being down must not stop the hooks
                log.warning("webhook: copies not described (store: %s)", exc)
        items = []
        for event in batch:
            copy = as_withdrawn(event, described.get(event.copy_id, {}))
            if copy is None:
                continue
            items.append(
                {
                    "kind": event.kind,
                    "at": event.at.isoformat(),
                    "verdict": event.verdict,
                    "reason": event.reason,
                    "copy_id": copy.get("copy_id", event.copy_id),
                    "target": event.target,
                    **{name: copy.get(name) for name in COPY_FIELDS},
                }
            )
        return json.dumps({"events": items}, separators=(",", ":")).encode()

    async def _deliver(self, hook: Webhook, batch: list[EventRecord]) -> None:
        assert self._session is not None, "start() first"
        body = await self._payload(batch)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(hook.secret, body),
        }
        delay = self.retry.initial
        for attempt in range(1, self.retry.attempts + 1):
            try:
                async with self._session.post(hook.url, data=body, headers=headers) as response:
                    if response.status < 300:
                        self.delivered += len(batch)
                        return
                    if response.status < 500:
                        log.warning("webhook refused url=%s status=%d", hook.url, response.status)
                        return
                    reason = f"status {response.status}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                reason = str(exc) or type(exc).__name__
            log.info("webhook attempt %d failed url=%s: %s", attempt, hook.url, reason)
            if attempt < self.retry.attempts:
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry.maximum)
        log.warning("webhook gave up url=%s events=%d", hook.url, len(batch))


def hooks_from_config(sections: Iterable[Any], env: Mapping[str, str]) -> list[Webhook]:
    """`[[webhooks]]` with their secrets from the environment; a hook whose
    secret variable is unset is left out with an error naming the variable."""
    hooks = []
    for section in sections:
        secret = env.get(section.secret_env)
        if not secret:
            log.error("webhook %s disabled: set %s to its secret", section.url, section.secret_env)
            continue
        hooks.append(Webhook(section.url, frozenset(section.events), secret.encode()))
    return hooks
