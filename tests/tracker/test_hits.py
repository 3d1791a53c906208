"""Hits read as events (tracker/events/reading.py), and the writer process's side of them:
forged hits acknowledged in order, nothing of a hit on disk but its event."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import pickle
import signal
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from tracker.classify import load_classifier
from tracker.clientip import ClientAddresses
from tracker.events import Hit, HitReader, is_hit
from tracker.events.rows import Rows
from tracker.journal import overflow_paths
from tracker.store import EventRecord, Store
from tracker.store.models import events
from tracker.tokens import Keyring, Kind, Token, encode
from tracker.writer_process import ProcessEventWriter

COPY = "00112233445566bb"
TARGET = "https://shop.example/offer?x=1"
SAFARI = "Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 Version/17.0 Safari/605.1.15"
AT = datetime(2026, 3, 2, 10, 0, 0, 250000, tzinfo=UTC)
PEER = "198.51.100.77"


def hit(kind: str, token, method="GET", agent=SAFARI, peer=PEER, forwarded=None, at=AT):
    return Hit(kind, token, method, agent, peer, forwarded, at.timestamp())


@pytest.fixture
def reader(keyring: Keyring) -> HitReader:
    return HitReader(keyring, load_classifier(), ClientAddresses())


def test_a_pixel_hit_is_an_open_of_its_copy(reader: HitReader, keyring: Keyring):
    token = encode(Token(Kind.OPEN, COPY), keyring)
    assert reader.event(hit("open", token)) == EventRecord(COPY, "open", AT, "human")


def test_a_click_hit_keeps_its_target_and_an_impression_does_not(reader: HitReader, keyring):
    click = encode(Token(Kind.CLICK, COPY, TARGET), keyring)
    assert reader.event(hit("click", click)) == EventRecord(COPY, "click", AT, "human", TARGET)
    banner = encode(Token(Kind.BANNER, COPY, "spring/A"), keyring)
    assert reader.event(hit("impression", banner)) == EventRecord(COPY, "impression", AT)
    # What a handler already read from the token is taken as it is.
    assert reader.event(hit("click", (COPY, TARGET))).target == TARGET


@pytest.mark.parametrize(
    "token",
    [
        "t1.AAAAAAAAAAAAAAAAAAAAAAAAAAA",  # well formed, not signed by us
        "x",
        "",
        "t1." + "A" * 30,
    ],
)
def test_a_hit_whose_token_is_not_ours_records_nothing(reader: HitReader, token: str):
    assert reader.event(hit("open", token)) is None


def test_a_token_of_another_kind_records_nothing(reader: HitReader, keyring: Keyring):
    # A click token fetched as a pixel (or the other way round) is not an open.
    click = encode(Token(Kind.CLICK, COPY, TARGET), keyring)
    assert reader.event(hit("open", click)) is None
    assert reader.event(hit("click", encode(Token(Kind.OPEN, COPY), keyring))) is None


def test_the_verdict_comes_from_the_method_agent_and_address(keyring: Keyring, tmp_path: Path):
    token = encode(Token(Kind.OPEN, COPY), keyring)
    config = tmp_path / "config"
    config.mkdir()
    (config / "machines.toml").write_text(
        '[[network]]\ncidr = "198.51.100.0/24"\nverdict = "prefetch"\napplies_to = "images"\n'
    )
    listed = HitReader(keyring, load_classifier(config), ClientAddresses())
    assert listed.event(hit("open", token, agent="Mozilla/5.0")).verdict == "prefetch"
    assert listed.event(hit("open", token, peer="192.0.2.1")).verdict == "human"
    plain = HitReader(keyring, load_classifier(), ClientAddresses())
    assert plain.event(hit("open", token, method="HEAD")).verdict == "scanner"
    gmail = "Mozilla/5.0 (via ggpht.com GoogleImageProxy)"
    assert plain.event(hit("open", token, agent=gmail)).verdict == "proxy"


def test_only_the_network_of_a_trusted_proxys_client_is_kept(keyring: Keyring):
    token = encode(Token(Kind.OPEN, COPY), keyring)
    proxy = ClientAddresses([ipaddress.ip_network("198.51.100.0/24")])
    reader = HitReader(keyring, load_classifier(), proxy, store_ip=True)
    assert reader.event(hit("open", token, forwarded="203.0.113.9")).ip == "203.0.113.0/24"
    untrusting = HitReader(keyring, load_classifier(), ClientAddresses(), store_ip=True)
    assert untrusting.event(hit("open", token, forwarded="203.0.113.9")).ip == "198.51.100.0/24"
    assert HitReader(keyring, load_classifier(), proxy).event(hit("open", token)).ip is None


def test_a_reader_pickled_for_the_writer_process_reads_the_same(reader: HitReader, keyring):
    copied = pickle.loads(pickle.dumps(reader))
    token = encode(Token(Kind.CLICK, COPY, TARGET), keyring)
    assert copied.event(hit("click", token)) == reader.event(hit("click", token))
    assert copied.keyring.keys == keyring.keys
    assert "tracker-tests" not in repr(copied.keyring)  # still no secret in a repr


def test_events_of_mixed_rows_keep_their_order_and_leave_forged_hits_out(reader, keyring):
    token = encode(Token(Kind.OPEN, COPY), keyring)
    stored = ("ffeeddccbbaa9988", "optout", AT, "human", None, None)
    rows = [hit("open", "t1.forged"), stored, hit("open", token)]
    assert [is_hit(row) for row in rows] == [True, False, True]
    assert [(e.copy_id, e.kind) for e in reader.events(rows)[0]] == [
        ("ffeeddccbbaa9988", "optout"),
        (COPY, "open"),
    ]


class _CountingWriter:
    """The parts of EventWriter that Rows uses: submit, and handled as the
    writer counts it (events done with, in order)."""

    def __init__(self) -> None:
        self.submitted: list[EventRecord] = []
        self.handled = 0

    def submit(self, event: EventRecord) -> None:
        self.submitted.append(event)


def test_a_forged_hit_is_acknowledged_only_once_the_events_before_it_are(reader, keyring):
    # The parent forgets rows by this count: a forged hit counted before the
    # events ahead of it are stored would let the parent forget those events.
    token = encode(Token(Kind.OPEN, COPY), keyring)
    writer = _CountingWriter()
    rows = Rows(writer, reader)
    rows.take([hit("open", token), hit("open", token), hit("open", "t1.forged")])
    assert len(writer.submitted) == 2
    assert rows.handled == 0
    writer.handled = 1
    assert rows.handled == 1
    writer.handled = 2
    assert rows.handled == 3  # both events and the forged hit after them
    rows.take([hit("open", "t1.forged")])
    assert rows.handled == 4  # nothing ahead of it


async def test_the_writer_process_reads_hits_and_stores_only_real_events(
    keyring: Keyring, tmp_path: Path
):
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    await store.upgrade()
    reader = HitReader(keyring, load_classifier(), ClientAddresses())
    writer = ProcessEventWriter(store, tmp_path / "events.journal", reader=reader)
    await writer.start()
    try:
        token = encode(Token(Kind.OPEN, COPY), keyring)
        for n in range(100):
            writer.submit_hit(hit("open", token if n % 2 else f"t1.forged{n}"))
        await writer.flush()
        assert writer.pending == 0, "forged hits are acknowledged too"
        async with store.engine.connect() as conn:
            rows = (await conn.execute(select(events.c.copy_id, events.c.verdict))).all()
        assert rows == [(COPY, "human")] * 50
    finally:
        await writer.close()
        await store.close()


async def test_hits_written_to_disk_by_the_tracker_are_events_without_the_address(
    keyring: Keyring, tmp_path: Path
):
    # The writer process stopped (SIGSTOP): the tracker writes what waits into
    # overflow files. A hit holds the client's address; the file must not.
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    await store.upgrade()
    journal = tmp_path / "events.journal"
    reader = HitReader(keyring, load_classifier(), ClientAddresses())
    writer = ProcessEventWriter(store, journal, reader=reader, batch_size=50, spill_at=300)
    await writer.start()
    token = encode(Token(Kind.OPEN, COPY), keyring)
    try:
        writer.submit_hit(hit("open", token))
        await writer.flush()
        pid = writer.child_pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)
        try:
            for _ in range(200):
                for _ in range(100):
                    writer.submit_hit(hit("open", token))
                await asyncio.sleep(0)  # the tracker's loop goes on serving
            async with asyncio.timeout(30):
                while not writer.overflowed:
                    await asyncio.sleep(0.01)
            assert writer.overflowed, "the hits waiting went to an overflow file"
            written = b"".join(path.read_bytes() for path in overflow_paths(journal))
            assert COPY.encode() in written
            assert PEER.encode() not in written
            assert SAFARI.encode() not in written
        finally:
            os.kill(pid, signal.SIGCONT)
    finally:
        await writer.close()
    async with store.engine.connect() as conn:
        stored = (await conn.execute(select(events.c.copy_id))).scalars().all()
    assert len(stored) == writer.written and set(stored) == {COPY}
    assert writer.dropped == 0
    await store.close()


async def test_hits_a_killed_writer_process_had_not_acknowledged_go_to_its_successor(
    keyring: Keyring, tmp_path: Path
):
    # Forged hits among them: the successor acknowledges in the order it got
    # the rows, so nothing the parent resent is forgotten before it is stored.
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    await store.upgrade()
    reader = HitReader(keyring, load_classifier(), ClientAddresses())
    writer = ProcessEventWriter(
        store, tmp_path / "events.journal", reader=reader, restart_delay=0.1
    )
    await writer.start()
    copies = [f"{n:016x}" for n in range(300)]
    try:
        for copy_id in copies[:100]:
            writer.submit_hit(hit("open", encode(Token(Kind.OPEN, copy_id), keyring)))
        await writer.flush()
        first = writer.child_pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        for n, copy_id in enumerate(copies[100:]):
            writer.submit_hit(hit("open", f"t1.forged{n}"))
            writer.submit_hit(hit("open", encode(Token(Kind.OPEN, copy_id), keyring)))
        await writer.flush()
        assert writer.child_pid not in (None, first), "a new writer process took over"
        assert writer.pending == 0
    finally:
        await writer.close()
    async with store.engine.connect() as conn:
        stored = (await conn.execute(select(events.c.copy_id))).scalars().all()
    assert sorted(stored) == copies
    await store.close()


def test_a_hit_that_came_through_the_pipe_as_a_plain_tuple_is_read_the_same(reader, keyring):
    token = encode(Token(Kind.OPEN, COPY), keyring)
    row = tuple(hit("open", token))  # as ProcessEventWriter sends it
    assert type(row) is tuple and is_hit(row)
    assert reader.events([row])[0] == [reader.event(hit("open", token))]
    assert not is_hit(("ffeeddccbbaa9988", "open", AT, "human", None, None, "human"))
