"""The relay: SMTP server + spool + delivery worker in one event loop.

Start order: spool (recover), recorder, worker, then the listener, so that
nothing is accepted before delivery can take it. Stop order is the reverse:
stop accepting, let connected clients finish their transactions (bounded by a
grace period), let the worker finish the copy on the wire, journal the facts
the store has not taken; everything else stays in the spool for the next start.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Sequence

from config.running import RunningConfig
from proxy import metrics
from proxy.backoff import RetryPolicy
from proxy.delivery import DeliveryWorker
from proxy.dkim import load_signer
from proxy.listeners import Listeners
from proxy.planning import Planner
from proxy.recipient_choices import RecipientChoices
from proxy.recorder import Recorder
from proxy.sent_items import SentItems, sent_copy, sent_items_password
from proxy.server import RelayHandler, RelayPolicy
from proxy.spool import WHOLE, Share, Spool, SpoolEntry
from proxy.state import MessageState
from proxy.upstream import Upstream, upstream_from_config
from tracker.store import Store
from tracker.tokens import Keyring

log = logging.getLogger("sigrelay.proxy.relay")

SHUTDOWN_GRACE = 10.0  # seconds open SMTP sessions get to finish (systemd allows 60)
DRAIN_POLL = 0.05


class Relay:
    def __init__(
        self,
        running: RunningConfig,
        store: Store,
        keyring: Keyring,
        *,
        choices: RecipientChoices | None = None,
        clicked: Callable[[str], frozenset[str]] | None = None,
        interests: Callable[[str], frozenset[str]] | None = None,
        retry: RetryPolicy | None = None,
        upstream: Upstream | None = None,
        concurrency: int = 8,
        store_retry: float = 1.0,
        share: Share = WHOLE,
        inherited: Sequence[Sequence[int]] | None = None,
    ) -> None:
        """`running`: the running configuration, read per session and per message;
        `choices`, `clicked`, `interests`: the planner's look-ups (proxy/planning.py);
        `share`: the queue ids this process owns when several relay processes
        share the spool; `inherited`: their listening sockets (proxy/workers.py)."""
        cfg = running.current  # the start-up snapshot: what is opened once
        self.running = running
        self.spool = Spool(cfg.data.dir / "spool", share=share)
        self.upstream = upstream or upstream_from_config(cfg)
        self.recorder = Recorder(
            store, self.spool.root / "records", retry_initial=store_retry, owns=share.owns
        )
        signer = load_signer(cfg)
        self.sent_items = SentItems(
            lambda: running.current.sent_items,
            lambda: sent_items_password(running.current, os.environ),
        )
        self.worker = DeliveryWorker(
            self.spool,
            Planner(
                running,
                keyring,
                choices=choices,
                clicked=clicked,
                interests=interests,
                dkim=signer is not None,
            ),
            self.upstream,
            self.recorder,
            retry or RetryPolicy(max_age=cfg.relay.max_age_days * 86400),
            concurrency=concurrency,
            hostname=cfg.relay.hostname,
            sign=signer.sign if signer else None,
            after_delivery=self._after_delivery,
        )
        # Trusted networks, limits and sender checks: one policy per snapshot,
        # read by each SMTP session when it starts (proxy/server.py).
        self.handler = RelayHandler(
            self.spool, running.derive(RelayPolicy.of).get, on_queued=self._queued
        )
        self.listeners = Listeners(running, self.handler, store, inherited)

    @property
    def address(self) -> tuple[str, int]:
        """Where the first listener is bound (the real port when the config said 0)."""
        bound = self.listeners.bound
        assert bound, "the relay is not started"
        return bound[0].address

    async def _drain(self, grace: float) -> None:
        """With the listeners closed, let connected clients finish what they
        are sending (a 250 is owed to every message on disk) before delivery
        stops; after `grace` seconds the rest are cut off and will retry."""
        connections = self.listeners.guard.connections
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        if connections:
            log.info("waiting for %d client connection(s) to finish", sum(connections.values()))
        while connections and loop.time() < deadline:
            await asyncio.sleep(DRAIN_POLL)  # no event exists for "a client left"
        if connections:
            log.warning("cutting off %d client connection(s)", sum(connections.values()))

    def _after_delivery(self, entry: SpoolEntry, state: MessageState) -> None:
        copy = sent_copy(self.worker.planner, entry, state, self.upstream.accepts_8bit)
        if copy is not None:
            self.sent_items.submit(copy)

    def _queued(self, queue_id: str) -> None:
        metrics.ACCEPTED.inc()
        self.worker.wake(queue_id)

    async def start(self) -> None:
        metrics.watch_spool(self.spool)
        await self.recorder.start()
        await self.worker.start()
        await self.listeners.start()

    async def stop(self, grace: float = SHUTDOWN_GRACE) -> None:
        await self.listeners.stop()
        await self._drain(grace)
        await self.worker.stop()
        await self.sent_items.close()
        await self.recorder.stop()
        await self.upstream.close()
        metrics.unwatch_spool(self.spool)
