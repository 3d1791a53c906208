"""The spool keeps every accepted message on disk, complete, until every copy is done."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from proxy.spool import Envelope, Share, Spool, SpoolError, SpoolWriteError, new_queue_id
from proxy.state import CopyState, CopyStatus, MessageState

MESSAGE = b"From: a@example.com\r\nTo: b@customer.test\r\nSubject: hi\r\n\r\nHello\r\n"


def _envelope(rcpts: tuple[str, ...] = ("b@customer.test",)) -> Envelope:
    return Envelope(
        mail_from="a@example.com",
        rcpts=rcpts,
        received_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        client_address="127.0.0.1",
        client_name="client.test",
    )


def _state(*copies: CopyState) -> MessageState:
    return MessageState(sender="a@example.com", group="sales", copies=copies)


def _copy(copy_id: str, *rcpts: str, **changes) -> CopyState:
    return CopyState(copy_id=copy_id, recipients=rcpts, tracked=True, privacy="personal", **changes)


def test_put_leaves_a_complete_queue_file_in_incoming_and_nothing_in_tmp(tmp_path: Path):
    spool = Spool(tmp_path)
    queue_id = spool.put(_envelope(), MESSAGE)

    assert (tmp_path / "incoming" / queue_id).is_file()
    assert list((tmp_path / "tmp").iterdir()) == []
    entry = Spool(tmp_path).load(queue_id)  # a new Spool: what a restarted process sees
    assert entry.data == MESSAGE
    assert entry.envelope == _envelope()
    assert entry.state is None


def test_queue_ids_sort_by_time_and_never_repeat():
    earlier = [new_queue_id(1_700_000_000.0 + i) for i in range(50)]
    assert earlier == sorted(earlier)
    same_moment = {new_queue_id(1_700_000_000.0) for _ in range(1000)}
    assert len(same_moment) == 1000


def test_list_returns_every_spooled_message_oldest_first(tmp_path: Path):
    spool = Spool(tmp_path)
    ids = [spool.put(_envelope(), MESSAGE) for _ in range(5)]
    spool.defer(ids[2])
    assert spool.list() == sorted(ids)


def test_a_failing_write_raises_and_leaves_nothing_behind(tmp_path: Path):
    spool = Spool(tmp_path)
    os.rmdir(tmp_path / "incoming")
    (tmp_path / "incoming").write_text("not a directory")  # rename into it fails

    with pytest.raises(SpoolWriteError, match="cannot spool message"):
        spool.put(_envelope(), MESSAGE)
    assert list((tmp_path / "tmp").iterdir()) == []


def test_state_is_replaced_as_a_whole_and_survives_a_restart(tmp_path: Path):
    spool = Spool(tmp_path)
    queue_id = spool.put(_envelope(), MESSAGE)
    first = _state(_copy("a" * 16, "b@customer.test"))
    spool.save_state(queue_id, first)
    state_file = tmp_path / "state" / f"{queue_id}.json"
    inode_before = state_file.stat().st_ino

    later = datetime(2025, 1, 2, 4, 0, tzinfo=UTC)
    second = first.with_copy(_copy("a" * 16, "b@customer.test", attempts=1, next_attempt=later))
    spool.save_state(queue_id, second)

    assert state_file.stat().st_ino != inode_before, "a new file was renamed over the old one"
    assert json.loads(state_file.read_bytes())["copies"][0]["attempts"] == 1
    assert Spool(tmp_path).load(queue_id).state == second
    assert list((tmp_path / "tmp").iterdir()) == []


def test_remove_refuses_while_a_copy_is_pending(tmp_path: Path):
    spool = Spool(tmp_path)
    queue_id = spool.put(_envelope(), MESSAGE)
    pending = _state(_copy("a" * 16, "b@customer.test"))
    spool.save_state(queue_id, pending)

    with pytest.raises(SpoolError, match="still has copies to deliver"):
        spool.remove(queue_id, pending)
    assert spool.list() == [queue_id]


def test_remove_deletes_queue_file_and_state_once_every_copy_is_done(tmp_path: Path):
    spool = Spool(tmp_path)
    queue_id = spool.put(_envelope(("b@customer.test", "c@customer.test")), MESSAGE)
    done = _state(
        _copy("a" * 16, "b@customer.test", delivered=("b@customer.test",)),
        _copy("b" * 16, "c@customer.test", failed=(("c@customer.test", "550 no such user"),)),
    )
    assert [c.status for c in done.copies] == [CopyStatus.DELIVERED, CopyStatus.FAILED]
    spool.save_state(queue_id, done)

    spool.remove(queue_id, done)

    assert spool.list() == []
    assert list((tmp_path / "state").iterdir()) == []


def test_defer_moves_the_unchanged_queue_file_to_deferred(tmp_path: Path):
    spool = Spool(tmp_path)
    queue_id = spool.put(_envelope(), MESSAGE)
    spool.defer(queue_id)

    assert not (tmp_path / "incoming" / queue_id).exists()
    entry = spool.load(queue_id)
    assert entry.deferred and entry.data == MESSAGE


def test_clean_up_after_a_crash_removes_half_written_files_and_orphan_states(tmp_path: Path):
    spool = Spool(tmp_path)
    kept = spool.put(_envelope(), MESSAGE)
    spool.save_state(kept, _state(_copy("a" * 16, "b@customer.test")))
    (tmp_path / "tmp" / "half-written.queue").write_bytes(b"{")
    (tmp_path / "state" / f"{new_queue_id()}.json").write_text("{}")

    deleted = Spool(tmp_path).clean_up()

    assert len(deleted) == 2
    assert list((tmp_path / "tmp").iterdir()) == []
    assert [p.stem for p in (tmp_path / "state").iterdir()] == [kept]


def test_a_corrupt_queue_file_is_moved_aside_not_deleted(tmp_path: Path):
    spool = Spool(tmp_path)
    queue_id = new_queue_id()
    (tmp_path / "incoming" / queue_id).write_bytes(b"garbage without an envelope line")

    with pytest.raises(SpoolError, match="corrupt"):
        spool.load(queue_id)
    assert (tmp_path / "corrupt" / queue_id).is_file()
    assert spool.list() == []


def test_next_attempt_is_the_earliest_pending_copy(tmp_path: Path):
    soon = datetime(2025, 1, 1, tzinfo=UTC)
    state = _state(
        _copy("a" * 16, "x@a.test", next_attempt=soon + timedelta(minutes=5)),
        _copy("b" * 16, "y@b.test", next_attempt=soon),
        _copy("c" * 16, "z@c.test", delivered=("z@c.test",)),
    )
    assert state.next_attempt == soon
    assert not state.done


# --- several relay processes on one spool ([relay] workers) ---------------------


def test_each_queue_id_belongs_to_exactly_one_of_the_workers():
    shares = [Share(index, 3) for index in range(3)]
    ids = [new_queue_id() for _ in range(3000)]
    owners = [[share.owns(q) for share in shares].count(True) for q in ids]
    assert owners == [1] * len(ids)
    per_worker = [sum(share.owns(q) for q in ids) for share in shares]
    assert min(per_worker) > 800, f"shares far from even: {per_worker}"


def test_a_worker_spools_under_ids_of_its_own_share(tmp_path: Path):
    share = Share(1, 3)
    spool = Spool(tmp_path, share=share)
    ids = [spool.put(_envelope(), MESSAGE) for _ in range(30)]
    assert all(share.owns(q) for q in ids)
    assert sorted(ids) == spool.list()


def test_clean_up_leaves_the_files_of_other_workers_alone(tmp_path: Path):
    mine, theirs = Share(0, 2), Share(1, 2)
    their_spool = Spool(tmp_path, share=theirs)
    their_id = their_spool.put(_envelope(), MESSAGE)
    their_spool.save_state(their_id, _state(_copy("a" * 16, "b@customer.test")))
    (tmp_path / "tmp" / f"{their_id}.state.1234").write_bytes(b"being written")
    orphan = next(q for q in iter(new_queue_id, None) if theirs.owns(q))
    (tmp_path / "state" / f"{orphan}.json").write_text("{}")
    my_half_written = next(q for q in iter(new_queue_id, None) if mine.owns(q))
    (tmp_path / "tmp" / f"{my_half_written}.queue").write_bytes(b"{")

    deleted = Spool(tmp_path, share=mine).clean_up()

    assert deleted == [f"tmp/{my_half_written}.queue"]
    assert their_spool.load(their_id).state is not None


def test_a_flush_request_is_seen_by_every_process(tmp_path: Path):
    first, second = Spool(tmp_path, share=Share(0, 2)), Spool(tmp_path, share=Share(1, 2))
    seen = [first.flush_request(), second.flush_request()]

    Spool(tmp_path).request_flush()  # `sigrelay spool retry`
    once = [first.flush_request(), second.flush_request()]
    Spool(tmp_path).request_flush()  # and again, within the same clock tick
    twice = [first.flush_request(), second.flush_request()]

    assert once[0] == once[1] and once[0] not in seen
    assert twice[0] == twice[1] and twice[0] not in [*seen, once[0]]


def test_remove_all_takes_out_several_messages_and_one_already_gone(tmp_path: Path):
    spool = Spool(tmp_path)
    done = _state(_copy("a" * 16, "b@customer.test", delivered=("b@customer.test",)))
    first, second, third = (spool.put(_envelope(), MESSAGE) for _ in range(3))
    spool.defer(second)
    spool.save_state(second, done)
    (tmp_path / "incoming" / third).unlink()  # removed before a crash, tried again

    assert spool.remove_all([(first, done), (second, done), (third, done)]) == set()

    assert spool.list() == []
    assert list((tmp_path / "state").iterdir()) == []


def test_remove_all_refuses_a_message_with_a_pending_copy(tmp_path: Path):
    spool = Spool(tmp_path)
    queue_id = spool.put(_envelope(), MESSAGE)
    with pytest.raises(SpoolError, match="still has copies to deliver"):
        spool.remove_all([(queue_id, _state(_copy("a" * 16, "b@customer.test")))])
    assert spool.list() == [queue_id]


def test_a_message_deferred_while_the_spool_is_listed_is_listed_once(tmp_path: Path):
    # The metrics' scrape lists the spool while a delivery task defers a message
    # (incoming/ -> deferred/): it must count one message, not two.
    class DeferredMidway(Spool):
        moving: str | None = None

        def _queue_dirs(self):  # type: ignore[override]
            incoming, deferred = super()._queue_dirs()
            if self.moving is None:
                return [incoming, deferred]
            return self._midway(incoming, deferred, self.moving)

        def _midway(self, incoming: Path, deferred: Path, queue_id: str):
            yield incoming
            self.moving = None
            self.defer(queue_id)  # the move lands between the two directory reads
            yield deferred

    spool = DeferredMidway(tmp_path)
    queue_id = spool.put(_envelope(), MESSAGE)
    spool.moving = queue_id
    assert spool.list() == [queue_id]
    assert (tmp_path / "deferred" / queue_id).is_file()  # it did move midway
