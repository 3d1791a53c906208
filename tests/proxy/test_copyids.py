"""Copy ids: planning the same message again (after a restart) gives the same ids."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from config import EXAMPLE_DIR, load_config
from config.running import RunningConfig
from proxy.copyids import copy_id_for
from proxy.planning import Planner
from proxy.spool import Envelope, SpoolEntry, new_queue_id
from tracker.tokens import UNTRACKED_COPY_ID, Keyring

KEYRING = Keyring({"t1": b"planning-tests-signing-key-bytes"}, current="t1")
OTHER_KEYRING = Keyring({"t2": b"another-signing-key-of-32-bytes!"}, current="t2")
RCPTS = ("kim@customer.test", "lee@partner.test", "carla.rossi@example.com")


def _plan(tmp_path: Path, queue_id: str, opted_out: set[str] = frozenset()):
    cfg = load_config(EXAMPLE_DIR, {"SIGRELAY_DATA": str(tmp_path / "data")})
    envelope = Envelope("anna.schmidt@example.com", RCPTS, datetime.now(UTC))  # personal mode
    entry = SpoolEntry(queue_id, envelope, b"Subject: hi\r\n\r\nhello\r\n", None)
    caps = {address: "off" for address in opted_out}
    return {
        c.recipients: c.copy_id
        for c in Planner(RunningConfig(cfg), KEYRING).plan(entry, caps).copies
    }


def test_the_same_message_planned_twice_gets_the_same_copy_ids(tmp_path: Path):
    queue_id = new_queue_id()
    first, again = _plan(tmp_path, queue_id), _plan(tmp_path, queue_id)
    assert first == again
    assert len(set(first.values())) == 3  # internal, kim, lee: three different copies


def test_another_message_to_the_same_recipients_gets_other_ids(tmp_path: Path):
    first, other = _plan(tmp_path, new_queue_id()), _plan(tmp_path, new_queue_id())
    assert set(first.values()).isdisjoint(other.values())


def test_a_copy_that_changed_since_the_first_plan_gets_another_id(tmp_path: Path):
    queue_id = new_queue_id()
    before = _plan(tmp_path, queue_id)
    after = _plan(tmp_path, queue_id, opted_out={"kim@customer.test"})  # joins the internal copy
    assert after[("lee@partner.test",)] == before[("lee@partner.test",)]
    untracked_before = before[("carla.rossi@example.com",)]
    assert after[("kim@customer.test", "carla.rossi@example.com")] not in before.values()
    assert untracked_before not in after.values()


def test_ids_are_keyed_and_shaped_like_every_copy_id():
    args = ("1K11DV3GSQ0WH971ABCD", "personal", ("kim@customer.test",))
    copy_id = copy_id_for(KEYRING, *args)
    assert len(copy_id) == 16 and int(copy_id, 16) >= 0 and copy_id != UNTRACKED_COPY_ID
    assert copy_id_for(OTHER_KEYRING, *args) != copy_id
    assert copy_id_for(KEYRING, args[0], "personal", ("KIM@customer.test",)) == copy_id
