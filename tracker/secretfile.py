"""Creating a secret file (signing keys, the pseudonym key) safely on first use."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

log = logging.getLogger("sigrelay.tracker.secretfile")


def create_secret_file(path: Path, text: str) -> None:
    """Write `text` (0600) complete under a temporary name, then link it into
    place: a second process starting at the same moment either wins or reads ours."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
            log.info("created secret file %s", path)
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)
