"""Files that survive a crash once written: what the spool, the maildir
upstream, the relay's record journal and the event journal rely on.

In config/ (the lowest layer proxy/ and tracker/ both import), not in the
command-line package: nothing below sigrelay/ may import it."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_dir(directory: Path) -> None:
    """Make the directory's entries (a file created, renamed or removed) durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durably(path: Path, data: bytes, tmp_path: Path | None = None) -> None:
    """Write `data` as `path`, whole or not at all, durably: into `tmp_path`
    (default: `path` + ".tmp"; a reader must skip that name), synced, renamed
    into place, and the directory synced."""
    tmp_path = tmp_path or path.with_name(path.name + ".tmp")
    with open(tmp_path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp_path, path)
    fsync_dir(path.parent)
