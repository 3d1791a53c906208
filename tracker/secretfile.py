"""Creating a secret file (signing keys, the pseudonym key) safely on first use."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from config.durable import PRIVATE, write_durably

log = logging.getLogger("sigrelay.tracker.secretfile")


def create_secret_file(path: Path, text: str) -> None:
    """Write `text` (0600) complete under a temporary name, then link it into
    place: a second process starting at the same moment either wins or reads ours."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    if write_durably(path, text.encode("utf-8"), tmp_path=tmp_path, mode=PRIVATE, exclusive=True):
        log.info("created secret file %s", path)
