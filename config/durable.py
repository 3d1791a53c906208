"""Files that survive a crash once written: the one implementation of
"temporary file, write, fsync, rename, fsync the directory" that the spool,
the maildir upstream, the users file, the relay's record journal, the event
journal and the secret files rely on.

In config/ (the lowest layer proxy/ and tracker/ both import), not in the
command-line package: nothing below sigrelay/ may import it.

Why each step (as Postfix's queue manager does it): the data is synced
before the rename, so the name never points at a half-written file; the
directory is synced after it, so the name itself survives a power cut. A
failure at any step leaves the old file as it was and no temporary file
behind.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

PRIVATE = 0o600  # the default: spool, journals, users and secrets are nobody else's business
SHARED = 0o666  # as open() makes a file: the umask decides (a maildir, a network list)

Data = bytes | Iterable[bytes]  # one buffer, or parts written one after the other


def fsync_dir(directory: Path) -> None:
    """Make the directory's entries (a file created, renamed or removed) durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: Data) -> None:
    parts = [data] if isinstance(data, bytes | bytearray | memoryview) else data
    for part in parts:
        view = memoryview(part)  # no copies of a large message's bytes
        while view:
            view = view[os.write(fd, view) :]


def _write_synced(path: Path, data: Data, *, mode: int = PRIVATE) -> None:
    """Write `data` into `path` (created or truncated) and fsync it. Not atomic
    by itself: write_durably() gives it a temporary name and renames it. On
    failure the file is removed. One writer per name at a time."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        _write_all(fd, data)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)


def write_durably(
    path: Path,
    data: Data,
    *,
    tmp_path: Path | None = None,
    mode: int = PRIVATE,
    exclusive: bool = False,
) -> bool:
    """Write `data` as `path`, whole or not at all, durably: into `tmp_path`
    (default: `path` + ".tmp"; a reader must skip that name), synced, moved
    into place, and the directory synced.

    `exclusive`: never replace an existing `path` (the temporary file is
    hard-linked, which unlike rename fails on an existing name); returns
    False when `path` was there already, and leaves it alone. True otherwise.

    On any failure (disk full, I/O error, an unwritable directory) the
    exception propagates, `path` is as it was before and the temporary file
    is gone."""
    tmp_path = tmp_path or path.with_name(path.name + ".tmp")
    _write_synced(tmp_path, data, mode=mode)
    try:
        if exclusive:
            try:
                os.link(tmp_path, path)
            except FileExistsError:
                return False
            finally:
                tmp_path.unlink(missing_ok=True)
        else:
            os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return True


def append_durably(path: Path, data: Data, *, mode: int = PRIVATE) -> None:
    """Append `data` to `path` (created if missing) and fsync it; the directory
    too when the file is new, so the file itself survives a power cut. A crash
    mid-append can leave a torn last line: readers of such files skip it."""
    new = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, mode)
    try:
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    if new:
        fsync_dir(path.parent)


def move_durably(source: Path, target: Path) -> None:
    """Rename `source` to `target` (same file system) and sync the target's
    directory: from then on a restart finds the file under its new name."""
    os.rename(source, target)
    fsync_dir(target.parent)
