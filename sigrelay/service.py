"""The long-running process: relay + delivery and/or tracker in one event loop.

Start order follows the path of a message: store first (everything records
into it), then the tracker (so links in the first copy already work), then the
relay. Stop order is the reverse; the relay stops accepting before the writer
flushes, so nothing acknowledged is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from config import Config
from config import watch as config_watch
from config.applied import record_applied
from config.campaigns import follow_up_sources, targeted_topics
from config.running import RunningConfig
from config.watch import ReloadStatus
from proxy import metrics as relay_metrics
from proxy.recipient_choices import RecipientChoices
from proxy.relay import Relay
from proxy.upstream import open_upstream
from proxy.workers import WorkerProcesses, WorkerRole, follow_parent, role_from_env
from sigrelay import sdnotify
from sigrelay.dashboard_preview import preview_source
from sigrelay.directory_sync import sync_periodically
from sigrelay.health import config_registry, demo_admin
from tracker import metrics as tracker_metrics
from tracker.app import REFUSED_TOKENS, make_app
from tracker.classify import load_classifier
from tracker.clientip import ClientAddresses
from tracker.dashboard import DashboardSettings, settings_from_config
from tracker.events import HitReader, Listener
from tracker.landing import LandingSettings
from tracker.notify import SenderNotifier
from tracker.optout import OptOutSettings
from tracker.pseudonym import load_pseudonym_key
from tracker.spray import SprayWatch
from tracker.store import Store
from tracker.store.behaviour import ClickHistory
from tracker.store.interests import InterestProfiles, Interests, interest_rules
from tracker.store.retention import FIRST_RUN_DELAY, purge_daily
from tracker.store.throttle import claim_once
from tracker.store.timing import TimingRules
from tracker.store.withdrawal import Withdrawal
from tracker.tokens import Keyring, load_keyring
from tracker.webhooks import WebhookDispatcher, describe_from_store, hooks_from_config
from tracker.writer_process import ProcessEventWriter as EventWriter

log = logging.getLogger("sigrelay.service")

READY_LINE = "sigrelay ready"


@dataclass(frozen=True)
class Parts:
    relay: bool = True
    tracker: bool = True


def _host_port(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


class Service:
    """The parts of one sigrelay process, started and stopped in order."""

    def __init__(self, cfg: Config, parts: Parts = Parts()) -> None:
        # The one holder of the running configuration: every part reads it
        # (config/running.py); the config watcher swaps it.
        self.running = RunningConfig(cfg)
        self.parts = parts
        self.store: Store | None = None
        self.writer: EventWriter | None = None
        self.relay: Relay | None = None
        self._runner: web.AppRunner | None = None
        self._retention: asyncio.Task[None] | None = None
        self.retention_first_delay = FIRST_RUN_DELAY
        self.config_poll_interval = config_watch.DEFAULT_INTERVAL
        self.webhooks: WebhookDispatcher | None = None
        self.notifier: SenderNotifier | None = None
        self._click_history: asyncio.Task[None] | None = None
        self._interest_profiles: asyncio.Task[None] | None = None
        self.config_watcher: config_watch.ConfigWatcher | None = None
        self._config_watch: asyncio.Task[None] | None = None
        self._directory_sync: asyncio.Task[None] | None = None
        # Among several relay processes ([relay] workers): which one this is,
        # and in worker 0 the others it started (proxy/workers.py).
        self.role: WorkerRole | None = None
        self.workers: WorkerProcesses | None = None

    @property
    def cfg(self) -> Config:
        """The running configuration now (a reload may swap it)."""
        return self.running.current

    async def start(self) -> None:
        cfg = self.running.current  # the start-up snapshot: what is bound and opened
        if self.parts.relay:
            self.role = role_from_env(cfg.relay.workers)
            if not self.role.first:
                follow_parent()
        cfg.data.dir.mkdir(parents=True, exist_ok=True)
        keyring = load_keyring(cfg.data.dir, os.environ)
        tracker_cfg = cfg.tracker
        # Names recipients in the opt-out and consent lists (tracker/recipients.py).
        pseudonym_key = load_pseudonym_key(cfg.data.dir, os.environ)
        rules = interest_rules(cfg)  # None unless consent is required and topics exist
        self.store = await Store.open(
            cfg.store.url,
            # Clicks no person makes, judged as events are written (tracker/store/timing.py).
            timing=TimingRules.of_seconds(
                tracker_cfg.scanner_click_seconds, tracker_cfg.scanner_burst_seconds
            ),
            # Opt-outs reach the copies sent before them (tracker/store/withdrawal.py).
            withdrawal=Withdrawal(pseudonym_key),
            # Consented recipients' clicks build interest profiles (tracker/store/interests.py).
            interests=Interests(rules, pseudonym_key) if rules is not None else None,
        )
        await self.store.upgrade()
        if self.role is None or self.role.first:  # one purge per node is enough
            self._start_retention(cfg)
        reader, listeners = None, []
        if self.parts.tracker:
            # How hits are read as events (tracker/events/reading.py), in the writer's process.
            reader = HitReader(
                keyring,
                load_classifier(cfg.config_dir, cfg.data.dir),
                ClientAddresses(tracker_cfg.trusted_proxies),
                cfg.privacy.store_ip == "truncated",
                SprayWatch(tracker_cfg.scanner_spray_seconds, tracker_cfg.scanner_spray_copies),
            )
            listeners = await self._start_listeners(cfg, pseudonym_key)
        # The store is written, and hits are read, by a child process: neither
        # costs the request loop (tracker/writer_process.py).
        self.writer = EventWriter(
            self.store, cfg.data.dir / "events.journal", reader=reader, listeners=listeners
        )
        app = None
        if self.parts.tracker:
            app = make_app(
                keyring=keyring,
                events=self.writer,
                config_health=lambda: (
                    status.as_dict() if (status := self._reload_status()) else None
                ),
                banner_file=self._banner_file,
                images=lambda name: self.running.current.image_folders.find(name),
                dashboard=self._dashboard(keyring),
                landing=LandingSettings(
                    lambda: self.running.current.company.landing_domains,
                    allow_http=lambda: self.running.current.tracker.landing_allow_http,
                    gpc=lambda: self.running.current.privacy.gpc,
                ),
                optout=OptOutSettings(
                    self.store,
                    pseudonym_key,
                    cfg.tracker.public_url,
                    require_consent=cfg.privacy.require_consent,
                    without_consent=cfg.privacy.without_consent,
                    company=lambda: self.running.current.company.name,
                ),
            )
            registries = [
                tracker_metrics.tracker_registry(self.writer, app[REFUSED_TOKENS]),
                config_registry(self._reload_status),
            ]
            if self.parts.relay:
                registries.insert(0, relay_metrics.REGISTRY)
            tracker_metrics.add_routes(app, registries, tracker_cfg.metrics_networks)
        await self.writer.start()
        if app is not None:
            self._runner = web.AppRunner(app, access_log=None)
            await self._runner.setup()
            host, port = _host_port(cfg.tracker.listen)
            await web.TCPSite(self._runner, host, port).start()
            log.info(
                "tracker listening=%s public_url=%s", cfg.tracker.listen, cfg.tracker.public_url
            )
        if self.parts.relay:
            role = self.role
            assert role is not None
            history = ClickHistory(
                self.store, lambda: follow_up_sources(self.running.current.campaigns)
            )
            profiles = InterestProfiles(
                self.store,
                pseudonym_key,
                lambda: targeted_topics(self.running.current.campaigns),
                lambda: self.running.current.privacy.require_consent,
            )
            self.relay = Relay(
                self.running,
                self.store,
                keyring,
                choices=RecipientChoices(self.store, pseudonym_key),
                clicked=history.clicked,
                interests=profiles.topics_of,
                share=role.share,
                inherited=role.inherited,
            )
            # Who clicked which campaign (personal mode), for follow-up campaigns.
            self._click_history = asyncio.create_task(history.run(), name="sigrelay-click-history")
            # Who is interested in which topic (consent only), for `target_topics`.
            self._interest_profiles = asyncio.create_task(
                profiles.run(), name="sigrelay-interest-profiles"
            )
            await self.relay.start()
            upstream = _safe_url(cfg.upstream.url)
            # Where the relay really listens: `listen` is only the default
            # when `listeners` is empty, and a port 0 is chosen by the kernel.
            listening = ",".join(
                f"{host}:{port}/{bound.mode.value}"
                for bound in self.relay.listeners.bound
                for host, port in [bound.address]
            )
            log.info("relay listening=%s upstream=%s", listening, upstream)
            if role.first and role.share.count > 1:
                self.workers = WorkerProcesses(
                    role.share.count, cfg.config_dir, self.relay.listeners.socket_fds()
                )
                await self.workers.start()
        self._start_config_watch()

    async def _start_listeners(self, cfg: Config, pseudonym_key: bytes) -> list[Listener]:
        """The webhooks and the sender notifier, when configured: told of events
        as they are read (tracker/events/sink.py)."""
        assert self.store is not None
        listeners: list[Listener] = []
        hooks = hooks_from_config(cfg.webhooks, os.environ)
        if hooks:
            # With the pseudonym key: opted-out recipients' events are sent as they chose.
            describe = describe_from_store(self.store, pseudonym_key)
            self.webhooks = WebhookDispatcher(hooks, describe=describe)
            await self.webhooks.start()
            listeners.append(self.webhooks)
        if any(group.notify_sender for group in cfg.groups):
            self.notifier = SenderNotifier(
                # With the pseudonym key: no notice about a recipient who opted out.
                describe_from_store(self.store, pseudonym_key),
                open_upstream(
                    cfg.upstream_endpoint,
                    data_dir=cfg.data.dir,
                    local_hostname=cfg.relay.hostname,
                    username=cfg.upstream.username,
                    password=cfg.upstream_password,
                    ca_file=cfg.config_dir / cfg.upstream.ca_file if cfg.upstream.ca_file else None,
                ),
                notify_group=self._notify_group,
                hostname=cfg.relay.hostname,
                claim=self._claim_notice,
            )
            await self.notifier.start()
            listeners.append(self.notifier)
        return listeners

    async def _claim_notice(self, key: str) -> bool:
        """One notice per copy and day on all nodes: claimed in the store for two
        days (a day of clocks apart is still the same notice)."""
        assert self.store is not None
        return await claim_once(self.store, key, time.time(), 2 * 86400)

    def _notify_group(self, name: str) -> bool:
        group = self.running.current.group(name)  # a reload may switch it off
        return group is not None and group.notify_sender

    def _start_retention(self, cfg: Config) -> None:
        """The retention policy, applied daily by every node (purging is idempotent)."""
        assert self.store is not None
        key = load_pseudonym_key(cfg.data.dir, os.environ)
        job = purge_daily(
            self.store,
            key,
            cfg.privacy.retention_days,
            cfg.privacy.event_retention_days,
            first_delay=self.retention_first_delay,
        )
        self._retention = asyncio.create_task(job, name="sigrelay-retention")

    def _banner_file(self, campaign: str, variant: str) -> Path | None:
        return self.running.current.banner_file(campaign, variant)  # after reloads too

    def _reload_status(self) -> ReloadStatus | None:
        return self.config_watcher.status if self.config_watcher is not None else None

    def _config_health(self) -> dict[str, object] | None:
        status = self._reload_status()
        return status.as_dict() if status is not None else None

    def reload(self) -> None:
        """SIGHUP: load the configuration now (a rejected one changes nothing)."""
        log.info("SIGHUP: reloading the configuration")
        if self.config_watcher is not None:
            self.config_watcher.request_reload()
        if self.workers is not None:
            self.workers.signal_reload()

    def _record_applied(self, old: Config | None, new: Config) -> None:
        if self.role is None or self.role.first:  # one writer per data directory
            record_applied(new)

    def _start_config_watch(self) -> None:
        self._record_applied(None, self.cfg)
        self.running.subscribe(self._record_applied)
        self.config_watcher = config_watch.ConfigWatcher(
            self.running, interval=self.config_poll_interval
        )
        self._config_watch = asyncio.create_task(
            self.config_watcher.run(), name="sigrelay-config-watch"
        )
        if self.cfg.directory.ldap is not None and (self.role is None or self.role.first):
            # The watcher sees each synced CSV and reloads, like an edited one.
            self._directory_sync = asyncio.create_task(
                sync_periodically(lambda: self.cfg, os.environ), name="sigrelay-directory-sync"
            )

    def _dashboard(self, keyring: Keyring) -> DashboardSettings:
        """/admin and /api/v1: admins, API tokens and the forget key from the config."""
        assert self.store is not None
        key = load_pseudonym_key(self.running.current.data.dir, os.environ)
        demo = demo_admin(self.running.current, interactive=sys.stderr.isatty())
        # /admin/preview: the relay's own preview, recipients' choices from the store.
        preview = preview_source(self.running, keyring, RecipientChoices(self.store, key))
        return settings_from_config(
            self.running, self.store, keyring, os.environ, key, demo_admin=demo, preview=preview
        )

    async def stop(self) -> None:
        """Reverse order: stop accepting mail first, flush events last."""
        tasks = (self._config_watch, self._click_history, self._interest_profiles)
        for task in (*tasks, self._directory_sync):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._config_watch = self._click_history = self._directory_sync = None
        self._interest_profiles = None
        if self._retention is not None:
            self._retention.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retention
            self._retention = None
        relay, runner, writer, store = self.relay, self._runner, self.writer, self.store
        self.relay = self._runner = self.writer = self.store = None  # stop() may be called twice
        workers, self.workers = self.workers, None
        if workers is not None:
            workers.signal_stop()  # all relay processes stop accepting together
        if relay is not None:
            await relay.stop()
        if workers is not None:
            await workers.stop()
        if runner is not None:
            await runner.cleanup()
        if self.webhooks is not None:
            await self.webhooks.close()
            self.webhooks = None
        if self.notifier is not None:
            await self.notifier.close()
            await self.notifier.upstream.close()
            self.notifier = None
        if writer is not None:
            await writer.close()
        if store is not None:
            await store.close()
        log.info("stopped")


async def run(cfg: Config, parts: Parts) -> None:
    """Run until SIGTERM or SIGINT, then shut down gracefully."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    service = Service(cfg, parts)
    # Reload, never die: without a handler SIGHUP's default action ends the process.
    loop.add_signal_handler(signal.SIGHUP, service.reload)
    watchdog: asyncio.Task[None] | None = None
    try:
        await service.start()
        # What start-up loaded (SQLAlchemy, aiohttp, the config) lives as long as the
        # process: frozen out of the collector, a full collection no longer walks it
        # (otherwise a ~35 ms pause of every request now and then under load).
        gc.freeze()
        # A line for supervisors and tests to wait on instead of polling ports.
        ready = f"{READY_LINE} relay={parts.relay} tracker={parts.tracker}"
        if service.role is not None and not service.role.first:
            # Told to worker 0 only, which is ready once all its workers are.
            ready += f" worker={service.role.share.index}/{service.role.share.count}"
        else:
            print(ready, file=sys.stderr, flush=True)
        sdnotify.notify(f"READY=1\nSTATUS={ready}")
        interval = sdnotify.watchdog_interval()
        if interval is not None:
            watchdog = asyncio.create_task(sdnotify.keep_watchdog_fed(interval))
        await stop.wait()
        log.info("shutting down")
        sdnotify.notify("STOPPING=1")
    finally:
        if watchdog is not None:
            watchdog.cancel()
        await service.stop()


def _safe_url(url: str) -> str:
    """The upstream URL without any password that someone put into it."""
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest:
        rest = rest.split("@", 1)[1]
    return f"{scheme}{sep}{rest}"
