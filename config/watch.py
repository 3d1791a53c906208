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
import logging
import os
from collections.abc import Mapping
from pathlib import Path

from config.errors import ConfigError, ConfigErrors
from config.loader import load_config
from config.model import Config
from config.restart import describe, restart_needed
from config.running import RunningConfig

log = logging.getLogger("sigrelay.config.watch")

DEFAULT_INTERVAL = 3.0

Snapshot = frozenset[tuple[str, int, int]]


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
    ) -> None:
        self.running = running
        self.env = env
        self.interval = interval
        self._seen = self._snapshot()
        # For tests and metrics: the outcome of the last change looked at.
        self.last_errors: list[ConfigError] = []

    @property
    def current(self) -> Config:
        return self.running.current

    def _snapshot(self) -> Snapshot:
        directory = self.current.config_dir
        return snapshot(directory, (self.current.directory_file,))

    def load_if_changed(self) -> Config | None:
        """A new valid Config if the directory changed since the last look, else None."""
        now = self._snapshot()
        if now == self._seen:
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
            return cfg
        log.error(
            "config change rejected, the running config stays:\n%s",
            "\n".join(f"  {error}" for error in self.last_errors),
        )
        return None

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
        """Look every `interval` seconds until cancelled."""
        while True:
            await asyncio.sleep(self.interval)
            try:
                # Loading reads files and renders templates: off the event loop;
                # the swap itself happens on the loop, between two requests.
                cfg = await asyncio.to_thread(self.load_if_changed)
                if cfg is not None:
                    self._apply(cfg)
            except Exception:
                log.exception("config reload failed; the running config stays")
