"""The event journal on its own (tracker/journal.py): batches kept whole, the
offset replayed so far kept across a restart, the files the owner's alone.
How the writer uses it is tests/tracker/test_writer.py."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tracker.journal import Journal, overflow_paths, write_overflow
from tracker.store import EventRecord

START = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)


def numbered(first: int, count: int) -> list[EventRecord]:
    return [
        EventRecord(f"{n:016x}", "open", START + timedelta(seconds=n), "human")
        for n in range(first, first + count)
    ]


def test_a_journal_read_never_splits_a_batch(tmp_path: Path):
    journal = Journal(tmp_path / "j")
    journal.append(numbered(0, 7), "a" * 32)
    journal.append(numbered(7, 7), "b" * 32)
    batches, end, lines = journal.read(5)
    assert [(b.batch_id, len(b.events)) for b in batches] == [("a" * 32, 7)]
    assert lines == 7
    journal.mark_replayed(end, lines)
    batches, end, lines = journal.read(5)
    assert [(b.batch_id, len(b.events)) for b in batches] == [("b" * 32, 7)]


def test_a_journal_opened_again_resumes_after_what_was_replayed(tmp_path: Path):
    journal = Journal(tmp_path / "j")
    journal.append(numbered(0, 4), "a" * 32)
    journal.append(numbered(4, 6), "b" * 32)
    batches, end, lines = journal.read(4)
    journal.mark_replayed(end, lines)

    again = Journal(tmp_path / "j")  # what the next run sees
    again.load()
    assert (again.offset, again.waiting) == (end, 6)
    batches, _, _ = again.read(100)
    assert [event.copy_id for event in batches[0].events] == [f"{n:016x}" for n in range(4, 10)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["j", "j.replayed"]  # no .tmp left


def test_journal_files_are_readable_by_the_owner_only(tmp_path: Path):
    old = os.umask(0o022)
    try:
        journal = Journal(tmp_path / "j")
        journal.append(numbered(0, 4), "a" * 32)
        journal.append(numbered(4, 4), "b" * 32)
        batches, end, lines = journal.read(4)
        journal.mark_replayed(end, lines)
        write_overflow(tmp_path / "j", numbered(8, 3), batch_size=2)
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    assert len(modes) == 3 and set(modes.values()) == {0o600}, modes


def test_an_overflow_file_is_seen_only_once_complete(tmp_path: Path):
    (tmp_path / "j.overflow.1.tmp").write_bytes(b'{"torn')  # one a crash left half-written
    path = write_overflow(tmp_path / "j", numbered(0, 5), batch_size=2)
    assert overflow_paths(tmp_path / "j") == [path]
    assert len(path.read_bytes().splitlines()) == 5
