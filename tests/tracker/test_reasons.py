"""Every event keeps its reason: which rule made it a person's or a machine's
(issue 16 item 4; DESIGN.md "Tokens and the tracker")."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tracker.classify import load_classifier
from tracker.clientip import ClientAddresses
from tracker.events import Hit, HitReader
from tracker.store import CopyRecord, EventRecord, Store
from tracker.store.models import events
from tracker.store.reasons import reason_counts, reason_table, reasons_from_events
from tracker.store.timing import TimingRules
from tracker.tokens import Kind, Token, encode

SENT = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
COPY = CopyRecord(
    "00000000000000c1", "q", SENT, "ann@corp.example", "sales", "personal", "spring", "a",
    "kim@customer.test", "customer.test",
)  # fmt: skip
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120 Safari/537.36"
GMAIL = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
EOP = ipaddress.ip_address("40.92.1.2")  # Exchange Online Protection, listed as a scanner network


def test_each_rule_gives_its_own_reason():
    classifier = load_classifier()

    def reason(*args, **kwargs) -> str:
        return classifier.judge(*args, **kwargs).reason

    assert reason("GET", BROWSER) == "human"
    assert reason("GET", GMAIL) == "proxy:gmail"
    assert reason("GET", "YahooMailProxy; https://help.yahoo.com") == "proxy:yahoo"
    assert reason("GET", "curl/8.5.0") == "scanner:agent"
    assert reason("HEAD", BROWSER) == "scanner:head"
    assert reason("GET", BROWSER, EOP, image=False) == "scanner:network"


def test_the_verdict_is_the_reason_before_its_colon():
    classifier = load_classifier()
    for agent in (BROWSER, GMAIL, "curl/8.5.0"):
        for method in ("GET", "HEAD"):
            judged = classifier.judge(method, agent)
            assert judged.verdict.value == judged.reason.partition(":")[0]
            assert classifier.verdict(method, agent) is judged.verdict


def test_a_hit_becomes_an_event_with_its_reason_and_no_agent_or_address(keyring):
    reader = HitReader(keyring, load_classifier(), ClientAddresses(), store_ip=False)
    token = encode(Token(Kind.OPEN, COPY.copy_id), keyring)
    hit = Hit("open", token, "GET", GMAIL, "66.249.80.9", None, SENT.timestamp())
    event = reader.event(hit)
    assert event is not None
    assert (event.verdict, event.reason, event.ip) == ("proxy", "proxy:gmail", None)
    assert "GoogleImageProxy" not in repr(event) and "66.249" not in repr(event)


async def stored(store: Store) -> list[tuple[str, str]]:
    async with store.engine.connect() as conn:
        rows = await conn.execute(select(events.c.verdict, events.c.reason).order_by(events.c.id))
        return [tuple(row) for row in rows]


async def test_timing_rules_store_early_and_burst_as_reasons(store: Store):
    store = Store(store.engine, timing=TimingRules())
    await store.record_copies([COPY])
    hour = SENT + timedelta(hours=1)
    await store.record_events([EventRecord(COPY.copy_id, "click", SENT + timedelta(seconds=2),
                                           target="https://x.test/a")])  # fmt: skip
    await store.record_events([EventRecord(COPY.copy_id, "click", hour, target="https://x.test/a")])
    later = hour + timedelta(milliseconds=400)
    await store.record_events(
        [EventRecord(COPY.copy_id, "click", later, target="https://x.test/b")]
    )
    # The stored click at `hour` turned out to be part of a burst: its reason moves too.
    assert await stored(store) == [
        ("scanner", "scanner:early"),
        ("scanner", "scanner:burst"),
        ("scanner", "scanner:burst"),
    ]


async def test_reason_counts_put_people_first_and_machines_apart(store: Store):
    await store.record_copies([COPY])
    at = SENT + timedelta(hours=2)
    await store.record_events(
        [
            EventRecord(COPY.copy_id, "open", at, "scanner", reason="scanner:agent"),
            EventRecord(COPY.copy_id, "open", at, "proxy", reason="proxy:gmail"),
            EventRecord(COPY.copy_id, "open", at),
            EventRecord(COPY.copy_id, "open", at),
            EventRecord(
                COPY.copy_id, "click", at, "scanner", "https://x.test/", reason="scanner:head"
            ),
            EventRecord("ffffffffffffffff", "open", at),  # another campaign's (unknown) copy
        ]
    )
    table = reason_table(await reason_counts(store, "spring"))
    assert await reason_counts(store, "spring") == await reasons_from_events(store, "spring")
    assert [(r["reason"], r["counted"], r["open"], r["click"]) for r in table] == [
        ("human", True, 2, 0),
        ("proxy:gmail", True, 1, 0),
        ("scanner:agent", False, 1, 0),
        ("scanner:head", False, 0, 1),
    ]
    # Over all campaigns; the open of a copy whose sent fact never came is not counted.
    assert sum(r["open"] for r in reason_table(await reason_counts(store))) == 4


async def test_events_stored_before_reasons_count_under_their_verdict(open_store):
    store = await open_store()
    await store.upgrade("0008")
    await store.record_copies([COPY])
    async with store.engine.begin() as conn:  # as a tracker before revision 0010 wrote them
        await conn.execute(
            events.insert(),
            [{"copy_id": COPY.copy_id, "kind": "open", "at": SENT, "verdict": "prefetch"}],
        )
    await store.upgrade()  # fills the reason counts from the events so far
    (row,) = reason_table(await reason_counts(store, "spring"))
    assert (row["reason"], row["open"]) == ("prefetch", 1)
    assert await reason_counts(store) == await reasons_from_events(store)


async def test_the_reason_counts_follow_re_marked_clicks_and_match_the_events(store: Store):
    store = Store(store.engine, timing=TimingRules())
    await store.record_copies([COPY])
    hour = SENT + timedelta(hours=1)
    gmail = EventRecord(
        COPY.copy_id, "click", hour, "proxy", "https://x.test/a", reason="proxy:gmail"
    )
    await store.record_events([gmail, EventRecord(COPY.copy_id, "open", hour)])
    later = EventRecord(
        COPY.copy_id, "click", hour + timedelta(milliseconds=300), target="https://x.test/b"
    )
    await store.record_events([later])  # a burst: the stored proxy click is a scanner's now
    counts = await reason_counts(store, "spring")
    assert counts == await reasons_from_events(store, "spring")
    assert [(r["kind"], r["reason"], r["events"]) for r in counts] == [
        ("open", "human", 1),
        ("click", "scanner:burst", 2),
    ]
