"""Hot reload: notice a changed config directory and load it again.

Polling mtimes (every few seconds) rather than inotify: it works the same on
every filesystem (NFS, bind mounts in containers, config management that
replaces files by rename). A change is loaded and validated as a whole; only
a valid Config is handed on, so an invalid edit leaves the running config in
place and the admin reads the precise errors in the log. A valid one is
swapped into the running config (config/running.py) as a whole; the settings
that only a restart applies are named in the log (config/restart.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from config.errors import ConfigError, ConfigErrors
from config.loader import load_config
from config.model import Config
from config.restart import describe, restart_needed
from config.running import RunningConfig

log = logging.getLogger("sigrelay.config.watch")

DEFAULT_INTERVAL = 3.0

Snapshot = frozenset[tuple[str, int, int]]


@dataclass(frozen=True)
class ReloadStatus:
    """What /healthz and the metrics tell: when the running config was loaded,
    and whether the last change was rejected (it stays until a good load)."""

    loaded_at: datetime
    rejected_at: datetime | None = None
    errors: tuple[str, ...] = ()
    failures: int = 0  # rejected loads since start

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, object]:
        return {
            "status": "ok" if self.ok else "rejected",
            "loaded_at": self.loaded_at.isoformat(timespec="seconds"),
            "rejected_at": self.rejected_at.isoformat(timespec="seconds")
            if self.rejected_at
            else None,
            "errors": list(self.errors),
        }


def snapshot(directory: Path, extra: tuple[Path, ...] = ()) -> Snapshot:
    """(path, mtime_ns, size) of every file under the directory (and `extra`)."""
    found: set[tuple[str, int, int]] = set()
    paths = [p for p in directory.rglob("*") if p.is_file()] + [p for p in extra if p.is_file()]
    for path in paths:
        try:
            stat = path.stat()
        except OSError:  # removed between listing and stat: the next look sees it
            continue
        found.add((str(path), stat.st_mtime_ns, stat.st_size))
    return frozenset(found)


class ConfigWatcher:
    """Swaps each valid change of the directory into `running`."""

    def __init__(
        self,
        running: RunningConfig,
        *,
        env: Mapping[str, str] = os.environ,
        interval: float = DEFAULT_INTERVAL,
        on_outcome: Callable[[ReloadStatus], None] = lambda status: None,
    ) -> None:
        """`on_outcome(status)` after every load tried (for metrics)."""
        self.running = running
        self.env = env
        self.interval = interval
        self.on_outcome = on_outcome
        self._seen = self._snapshot()
        self._forced: asyncio.Event | None = None
        # For /healthz and tests: the outcome of the last change looked at.
        self.last_errors: list[ConfigError] = []
        self.status = ReloadStatus(loaded_at=datetime.now(UTC))

    @property
    def current(self) -> Config:
        return self.running.current

    def _snapshot(self) -> Snapshot:
        directory = self.current.config_dir
        return snapshot(directory, (self.current.directory_file,))

    def load_if_changed(self, force: bool = False) -> Config | None:
        """A new valid Config if the directory changed since the last look (or
        `force`: SIGHUP), else None."""
        now = self._snapshot()
        if now == self._seen and not force:
            return None
        self._seen = now
        try:
            cfg = load_config(self.current.config_dir, self.env)
        except ConfigErrors as exc:
            self.last_errors = list(exc.errors)
        except ConfigError as exc:
            self.last_errors = [exc]
        else:
            self.last_errors = []
            self.status = ReloadStatus(datetime.now(UTC), failures=self.status.failures)
            self.on_outcome(self.status)
            return cfg
        self.status = ReloadStatus(
            self.status.loaded_at,
            rejected_at=datetime.now(UTC),
            errors=tuple(error.message for error in self.last_errors),
            failures=self.status.failures + 1,
        )
        self.on_outcome(self.status)
        log.error(
            "config change rejected, the running config stays:\n%s",
            "\n".join(f"  {error}" for error in self.last_errors),
        )
        return None

    def request_reload(self) -> None:
        """Load now, changed or not (SIGHUP); the running loop picks it up."""
        if self._forced is not None:
            self._forced.set()

    def _apply(self, cfg: Config) -> None:
        old = self.running.swap(cfg)
        log.info("config reloaded from %s", cfg.config_dir)
        needed = restart_needed(old, cfg)
        if needed:
            log.warning("reload applied; these changes need a restart: %s", describe(needed))

    def check(self) -> bool:
        """Look once (blocking); True if a new config was applied."""
        cfg = self.load_if_changed()
        if cfg is not None:
            self._apply(cfg)
        return cfg is not None

    async def run(self) -> None:
        """Look every `interval` seconds, or at once when asked, until cancelled."""
        self._forced = forced = asyncio.Event()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(forced.wait(), self.interval)
            force = forced.is_set()
            forced.clear()
            try:
                # Loading reads files and renders templates: off the event loop;
                # the swap itself happens on the loop, between two requests.
                cfg = await asyncio.to_thread(self.load_if_changed, force)
                if cfg is not None:
                    self._apply(cfg)
            except Exception:
                log.exception("config reload failed; the running config stays")
