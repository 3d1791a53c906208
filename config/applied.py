"""The configuration the running service applied, kept in the data directory,
so that `sigrelay check` can name the changes that only a restart applies
(config/restart.py) before the admin reloads."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from pydantic import ValidationError

from config.durable import write_durably
from config.model import Config

log = logging.getLogger("sigrelay.config.applied")

APPLIED_FILE = "running-config.json"


def record_applied(cfg: Config) -> None:
    """Called at start and after each reload that was applied."""
    path = cfg.data.dir / APPLIED_FILE
    data = json.dumps(cfg.model_dump(mode="json"), sort_keys=True).encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_durably(path, data)
        path.chmod(0o600)
    except OSError as exc:  # a convenience for `check`: never in the way of the service
        log.warning("cannot record the running configuration in %s: %s", path, exc)


def applied_config(data_dir: Path) -> Config | None:
    """What the running service applied last, or None (not started yet, or a
    file of an older version that no longer validates)."""
    path = data_dir / APPLIED_FILE
    try:
        return Config.model_validate(json.loads(path.read_bytes()))
    except (OSError, ValueError, ValidationError):
        return None
