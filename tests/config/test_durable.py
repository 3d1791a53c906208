"""config/durable.py: a file is written whole or not at all, and a failed
write leaves the file that was there as it was, with no temporary file behind."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.durable import (
    PRIVATE,
    SHARED,
    append_durably,
    move_durably,
    write_durably,
)

SHM = Path("/dev/shm")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _disk_fills_up_after(first: bytes) -> Iterator[bytes]:
    """Parts of a write that fails midway, as a full disk fails os.write."""
    yield first
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_new_file_is_complete_private_and_leaves_no_temporary_file(tmp_path: Path):
    path = tmp_path / "state.json"
    old = os.umask(0o022)  # the usual umask, under which open() makes 0644
    try:
        assert write_durably(path, b'{"a": 1}') is True
    finally:
        os.umask(old)
    assert path.read_bytes() == b'{"a": 1}'
    assert _mode(path) == PRIVATE
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_parts_are_written_in_order_as_one_file(tmp_path: Path):
    path = tmp_path / "queue"
    write_durably(path, [b"envelope\n", memoryview(b"body"), bytearray(b"!")])
    assert path.read_bytes() == b"envelope\nbody!"


def test_shared_mode_leaves_the_permissions_to_the_umask(tmp_path: Path):
    path = tmp_path / "list.txt"
    old = os.umask(0o027)
    try:
        write_durably(path, b"192.0.2.0/24\n", mode=SHARED)
    finally:
        os.umask(old)
    assert _mode(path) == 0o640


def test_an_existing_file_is_replaced_as_a_whole(tmp_path: Path):
    path = tmp_path / "users"
    path.write_bytes(b"old contents, longer than the new ones\n")
    write_durably(path, b"new\n", tmp_path=tmp_path / ".users-tmp")
    assert path.read_bytes() == b"new\n"
    assert not (tmp_path / ".users-tmp").exists()


def test_a_write_failing_midway_leaves_the_old_file_and_no_temporary_file(tmp_path: Path):
    path = tmp_path / "state.json"
    path.write_bytes(b"the old state")
    with pytest.raises(OSError) as failure:
        write_durably(path, _disk_fills_up_after(b"the new st"))
    assert failure.value.errno == errno.ENOSPC
    assert path.read_bytes() == b"the old state"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


@pytest.mark.skipif(not SHM.is_dir(), reason="needs /dev/shm: another file system to rename from")
def test_a_rename_that_fails_leaves_the_old_file_and_no_temporary_file(tmp_path: Path):
    """A temporary file on another file system cannot be renamed (EXDEV): the
    write fails after the data was synced, at the step that makes it visible."""
    path = tmp_path / "offset"
    path.write_bytes(b"120")
    tmp = SHM / f"sigrelay-durable-test-{os.getpid()}.tmp"
    if os.stat(SHM).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("/dev/shm and the test directory are one file system here")
    with pytest.raises(OSError) as failure:
        write_durably(path, b"240", tmp_path=tmp)
    assert failure.value.errno == errno.EXDEV
    assert path.read_bytes() == b"120"
    assert not tmp.exists()


def test_a_missing_directory_fails_and_creates_nothing(tmp_path: Path):
    with pytest.raises(FileNotFoundError):
        write_durably(tmp_path / "no such dir" / "file", b"x")
    assert list(tmp_path.iterdir()) == []


def test_exclusive_never_replaces_an_existing_file(tmp_path: Path):
    path = tmp_path / "token-keys"
    path.write_text("the first process's key")
    tmp = tmp_path / ".token-keys.1.tmp"
    assert write_durably(path, b"a second key", tmp_path=tmp, exclusive=True) is False
    assert path.read_text() == "the first process's key"
    assert not tmp.exists()


def test_exclusive_creates_a_missing_file(tmp_path: Path):
    path = tmp_path / "token-keys"
    tmp = tmp_path / ".token-keys.1.tmp"
    assert write_durably(path, b"key", tmp_path=tmp, exclusive=True) is True
    assert path.read_bytes() == b"key"
    assert _mode(path) == PRIVATE
    assert not tmp.exists()


def test_a_stale_temporary_file_from_a_crash_is_written_over(tmp_path: Path):
    path = tmp_path / "offset"
    (tmp_path / "offset.tmp").write_bytes(b"half of an older write that never finished")
    write_durably(path, b"42")
    assert path.read_bytes() == b"42"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["offset"]


def test_append_adds_to_the_end_and_creates_a_private_file(tmp_path: Path):
    path = tmp_path / "journal"
    append_durably(path, b"one\n")
    append_durably(path, [b"two\n", b"three\n"])
    assert path.read_bytes() == b"one\ntwo\nthree\n"
    assert _mode(path) == PRIVATE


def test_an_append_failing_midway_keeps_the_lines_before_it(tmp_path: Path):
    path = tmp_path / "journal"
    append_durably(path, b"one\n")
    with pytest.raises(OSError):
        append_durably(path, _disk_fills_up_after(b"tw"))
    # The torn line is the reader's to skip (tracker/journal.py); what was there stays.
    assert path.read_bytes().startswith(b"one\n")


def test_move_puts_the_file_under_its_new_name(tmp_path: Path):
    (tmp_path / "incoming").mkdir()
    (tmp_path / "deferred").mkdir()
    (tmp_path / "incoming" / "Q1").write_bytes(b"message")
    move_durably(tmp_path / "incoming" / "Q1", tmp_path / "deferred" / "Q1")
    assert (tmp_path / "deferred" / "Q1").read_bytes() == b"message"
    assert not (tmp_path / "incoming" / "Q1").exists()
