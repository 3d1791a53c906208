"""The relay: SMTP server + spool + delivery worker in one event loop.

Start order: spool (recover), recorder, worker, then the listener, so that
nothing is accepted before delivery can take it. Stop order is the reverse:
stop accepting, let the worker finish the copy on the wire, journal the facts
the store has not taken; everything else stays in the spool for the next start.
"""

from __future__ import annotations

import asyncio
import logging

from config import Config
from proxy.backoff import RetryPolicy
from proxy.delivery import DeliveryWorker
from proxy.planning import Planner
from proxy.recorder import CopyStore, Recorder
from proxy.server import RelayHandler, RelayPolicy, smtp_factory
from proxy.spool import Spool
from proxy.upstream import Upstream, open_upstream
from tracker.tokens import Keyring

log = logging.getLogger("sigrelay.proxy.relay")


class Relay:
    def __init__(
        self,
        cfg: Config,
        store: CopyStore,
        keyring: Keyring,
        *,
        retry: RetryPolicy | None = None,
        upstream: Upstream | None = None,
        concurrency: int = 8,
        store_retry: float = 1.0,
    ) -> None:
        self.cfg = cfg
        self.spool = Spool(cfg.data.dir / "spool")
        self.upstream = upstream or open_upstream(
            cfg.upstream_endpoint,
            data_dir=cfg.data.dir,
            local_hostname=cfg.relay.hostname,
            username=cfg.upstream.username,
            password=cfg.upstream_password,
        )
        self.recorder = Recorder(store, self.spool.root / "records", retry_initial=store_retry)
        self.worker = DeliveryWorker(
            self.spool,
            Planner(cfg, keyring),
            self.upstream,
            self.recorder,
            retry or RetryPolicy(),
            concurrency=concurrency,
        )
        self.handler = RelayHandler(
            self.spool,
            RelayPolicy(
                trusted_networks=tuple(cfg.relay.trusted_networks),
                max_recipients=cfg.relay.max_recipients,
                max_message_size=cfg.relay.max_message_size,
            ),
            on_queued=self.worker.wake,
        )
        self._server: asyncio.Server | None = None

    @property
    def address(self) -> tuple[str, int]:
        """Where the listener is bound (the real port when the config said 0)."""
        assert self._server is not None, "the relay is not started"
        return self._server.sockets[0].getsockname()[:2]

    async def start(self) -> None:
        await self.recorder.start()
        await self.worker.start()
        host, port = self.cfg.relay.address
        loop = asyncio.get_running_loop()
        factory = smtp_factory(self.handler, hostname=self.cfg.relay.hostname)
        self._server = await loop.create_server(factory, host or None, port)
        log.info("relay listening=%s:%d", *self.address)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        await self.worker.stop()
        await self.recorder.stop()
        await self.upstream.close()
