"""Listeners (webhooks, sender notices) are told of events once they are read,
wherever hits are read: in the event writer's process too, so configuring
them leaves hit reading off the request loop (tracker/events/sink.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from tracker.events import Hit, HitReader, LocalEvents
from tracker.store import EventRecord, Store
from tracker.store.models import events
from tracker.tokens import Keyring, Kind, Token, encode
from tracker.writer_process import ProcessEventWriter

AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SAFARI = "Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 Version/17.0 Safari/605.1.15"
TARGET = "https://shop.example/offer"


class Recorder:
    def __init__(self, kinds: set[str]) -> None:
        self.kinds = frozenset(kinds)
        self.events: list[EventRecord] = []

    def submit(self, event: EventRecord) -> None:
        self.events.append(event)


class Broken:
    kinds = frozenset({"click"})

    def submit(self, event: EventRecord) -> None:
        raise RuntimeError("listener bug")


class _Writer:
    def __init__(self) -> None:
        self.events: list[EventRecord] = []
        self.pending = 0
        self.store = None

    def submit(self, event: EventRecord) -> None:
        self.events.append(event)


def _hit(kind: str, token: str, n: int) -> Hit:
    return Hit(kind, token, "GET", SAFARI, "198.51.100.7", None, AT.timestamp() + n * 60)


def test_a_failing_listener_costs_neither_the_event_nor_its_answer(keyring: Keyring):
    writer = _Writer()
    sink = LocalEvents(writer, HitReader(keyring), [Broken()])  # type: ignore[arg-type]
    sink.submit(EventRecord("00112233445566aa", "click", AT))
    assert len(writer.events) == 1 and sink.pending == 0


def test_hits_read_in_the_tracker_are_told_to_the_listeners_of_their_kind(keyring: Keyring):
    writer, clicks = _Writer(), Recorder({"click"})
    sink = LocalEvents(writer, HitReader(keyring), [clicks])  # type: ignore[arg-type]
    sink.submit_hit(_hit("open", encode(Token(Kind.OPEN, "00000000000000a1"), keyring), 0))
    sink.submit_hit(
        _hit("click", encode(Token(Kind.CLICK, "00000000000000a1", TARGET), keyring), 1)
    )
    sink.submit_hit(_hit("click", "t1.forged", 2))
    assert [(e.kind, e.target) for e in clicks.events] == [("click", TARGET)]
    assert len(writer.events) == 2 and sink.refused == 1


async def test_hits_read_in_the_writer_process_are_told_to_the_tracker_s_listeners(
    keyring: Keyring, tmp_path: Path
):
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    await store.upgrade()
    clicks, optouts = Recorder({"click"}), Recorder({"optout"})
    writer = ProcessEventWriter(
        store, tmp_path / "events.journal", reader=HitReader(keyring), listeners=[clicks, optouts]
    )
    await writer.start()
    copies = [f"{n:016x}" for n in range(20)]
    try:
        for n, copy_id in enumerate(copies):
            writer.submit_hit(_hit("open", encode(Token(Kind.OPEN, copy_id), keyring), n))
            writer.submit_hit(_hit("click", encode(Token(Kind.CLICK, copy_id, TARGET), keyring), n))
            writer.submit_hit(_hit("click", f"t1.forged{n}", n))
        writer.submit(EventRecord(copies[0], "optout", AT))
        assert [e.copy_id for e in optouts.events] == [copies[0]], "a submitted event: at once"
        await writer.flush()  # the child tells what it read before it acknowledges it
        assert [(e.copy_id, e.kind, e.target) for e in clicks.events] == [
            (copy_id, "click", TARGET) for copy_id in copies
        ]
        assert writer.refused == 20
    finally:
        await writer.close()
    async with store.engine.connect() as conn:
        stored = (await conn.execute(select(events.c.kind))).scalars().all()
    assert sorted(stored).count("click") == 20 and stored.count("open") == 20
    await store.close()
