"""One client clicking in several recipients' copies within seconds is a scanner
(tracker/spray.py), judged as hits are read; its address is never kept."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta

import pytest

from tracker.classify import load_classifier
from tracker.clientip import ClientAddresses
from tracker.events import Hit, HitReader
from tracker.spray import SprayWatch
from tracker.tokens import Keyring, Kind, Token, encode

SAFARI = "Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 Version/17.0 Safari/605.1.15"
GATEWAY = "203.0.113.45"
AT = datetime(2026, 3, 2, 10, 0, 0, tzinfo=UTC)
TARGET = "https://shop.example/offer"


def click(copy_id: str, seconds: float, peer: str = GATEWAY, agent: str = SAFARI):
    at = (AT + timedelta(seconds=seconds)).timestamp()
    return Hit("click", (copy_id, TARGET), "GET", agent, peer, None, at)


@pytest.fixture
def reader(keyring: Keyring) -> HitReader:
    return HitReader(keyring, load_classifier(), ClientAddresses())


def test_one_client_clicking_in_three_recipients_copies_within_seconds_is_a_spray(reader):
    events = [reader.event(click(f"00000000000000a{n}", n * 0.8)) for n in range(4)]
    assert [(e.verdict, e.reason) for e in events] == [
        ("human", "human"),
        ("human", "human"),
        ("scanner", "scanner:spray"),
        ("scanner", "scanner:spray"),
    ]


def test_one_person_clicking_several_links_of_their_own_copy_is_no_spray(reader):
    events = [reader.event(click("00000000000000b1", n * 0.2)) for n in range(5)]
    assert {e.reason for e in events} == {"human"}


def test_colleagues_behind_one_address_clicking_minutes_apart_are_people(reader):
    events = [reader.event(click(f"00000000000000c{n}", n * 60.0)) for n in range(4)]
    assert {e.reason for e in events} == {"human"}


def test_different_clients_are_watched_apart(reader):
    peers = ["203.0.113.1", "203.0.113.2", "203.0.113.3"]
    events = [reader.event(click(f"00000000000000d{n}", 0.1, peer=p)) for n, p in enumerate(peers)]
    other_agent = SAFARI.replace("17.0", "16.6")
    events.append(reader.event(click("00000000000000d9", 0.2, agent=other_agent)))
    assert {e.reason for e in events} == {"human"}


def test_opens_are_never_a_spray(reader, keyring):
    # Image proxies fetch many recipients' pixels from one address: those are opens.
    tokens = [encode(Token(Kind.OPEN, f"00000000000000e{n}"), keyring) for n in range(4)]
    opens = [reader.event(Hit("open", t, "GET", SAFARI, GATEWAY, None, 0.0)) for t in tokens]
    assert [e.reason for e in opens] == ["human"] * 4


def test_the_watch_keeps_no_address_or_agent_only_a_keyed_hash():
    watch = SprayWatch()
    for n in range(3):
        watch.spraying(GATEWAY, "SecretGateway/1.0", f"copy{n}", float(n))
    kept = pickle.dumps(watch._recent)
    assert GATEWAY.encode() not in kept and b"SecretGateway" not in kept
    # Another watch (another process, a restart) does not recognise the client.
    assert SprayWatch()._key != watch._key


def test_the_watch_forgets_clients_past_its_window_when_full(monkeypatch):
    monkeypatch.setattr("tracker.spray.MAX_CLIENTS", 10)
    watch = SprayWatch(window=5.0)
    for n in range(10):
        watch.spraying(f"192.0.2.{n}", SAFARI, "copy", 0.0)
    watch.spraying("192.0.2.200", SAFARI, "copy", 100.0)
    assert len(watch._recent) == 1


def test_the_writer_process_gets_a_reader_that_watches_for_sprays(reader):
    # ProcessEventWriter pickles the reader into its child, which reads the hits.
    child = pickle.loads(pickle.dumps(reader))
    events = [child.event(click(f"00000000000000f{n}", n * 0.5)) for n in range(3)]
    assert events[-1].reason == "scanner:spray"


def test_zero_copies_turns_the_rule_off():
    watch = SprayWatch(window=5.0, copies=0)
    assert not any(watch.spraying(GATEWAY, SAFARI, f"copy{n}", n * 0.1) for n in range(10))
