"""Withdrawal is retroactive (issue 16 item 6; CNIL recommendation 2026-042,
GDPR Art. 7(3) and 21(3)): from the moment a recipient opts out (or is
forgotten), events from copies they received *before* are not stored ("do
not track me"), or stored without the copy's identity ("count me only
anonymously")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tracker.recipients import recipient_key
from tracker.store import CopyRecord, EventRecord, Store
from tracker.store.models import copies, events
from tracker.store.optout import opt_in, opt_out, optouts_of
from tracker.store.retention import forget
from tracker.store.withdrawal import Withdrawal, standin_copy_id

KEY = b"withdrawal-tests-pseudonym-key!!"
SENT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
OPTED_OUT_AT = SENT + timedelta(days=2)


def personal(n: int, recipient: str) -> CopyRecord:
    return CopyRecord(
        f"{n:016x}", f"q{n}", SENT, "ann@corp.example", "sales", "personal", "spring", "a",
        recipient, recipient.split("@")[1],
    )  # fmt: skip


KIM, LEE = personal(1, "kim@customer.test"), personal(2, "lee@other.test")


async def stored_copy_ids(store: Store) -> list[str]:
    async with store.engine.connect() as conn:
        query = select(events.c.copy_id).where(events.c.kind != "optout").order_by(events.c.id)
        return list((await conn.execute(query)).scalars())


@pytest.fixture
async def store(store: Store) -> Store:
    # Reads the opt-out list for every batch.
    return Store(store.engine, withdrawal=Withdrawal(KEY, refresh_seconds=0))


async def test_an_untracked_opt_out_stops_events_from_a_copy_sent_before(store: Store):
    await store.record_copies([KIM, LEE])
    await opt_out(store, recipient_key(KIM.recipient, KEY), "untracked", OPTED_OUT_AT)
    after = OPTED_OUT_AT + timedelta(hours=1)
    await store.record_events(
        [EventRecord(KIM.copy_id, "open", after), EventRecord(LEE.copy_id, "open", after)]
    )
    assert await stored_copy_ids(store) == [LEE.copy_id]


async def test_an_anonymous_opt_out_stores_events_against_a_copy_that_names_nobody(store: Store):
    await store.record_copies([KIM, LEE])
    await opt_out(store, recipient_key(KIM.recipient, KEY), "anonymous", OPTED_OUT_AT)
    after = OPTED_OUT_AT + timedelta(hours=1)
    await store.record_events(
        [
            EventRecord(KIM.copy_id, "open", after, ip="203.0.113.0/24"),
            EventRecord(KIM.copy_id, "click", after, target="https://shop.test/"),
            EventRecord(LEE.copy_id, "open", after),
        ]
    )
    standin = standin_copy_id("spring", "a", "sales", "ann@corp.example")
    assert sorted(await stored_copy_ids(store)) == sorted([standin, standin, LEE.copy_id])
    async with store.engine.connect() as conn:
        row = (await conn.execute(select(copies).where(copies.c.copy_id == standin))).one()
        ips = (await conn.execute(select(events.c.ip))).scalars().all()
    assert (row.recipient, row.domain, row.privacy, row.recipients) == (None, None, "anonymous", 0)
    assert ips == [None, None, None], "an anonymised event keeps no network either"
    # The campaign still counts them; nothing counts them for Kim.
    totals = (await store.stats(campaign="spring"))["totals"]
    assert (totals["sent"], totals["opens"], totals["clicks"]) == (2, 2, 1)
    by_recipient = {r["recipient"]: r for r in (await store.stats(by="recipient"))["rows"]}
    assert by_recipient["kim@customer.test"]["opens"] == 0
    assert by_recipient["lee@other.test"]["opens"] == 1


async def test_events_from_before_the_opt_out_are_kept_as_they_were(store: Store):
    # E.g. replayed from the journal after an outage: lawful when they happened.
    await store.record_copies([KIM])
    await opt_out(store, recipient_key(KIM.recipient, KEY), "untracked", OPTED_OUT_AT)
    before = OPTED_OUT_AT - timedelta(minutes=1)
    await store.record_events([EventRecord(KIM.copy_id, "open", before)])
    assert await stored_copy_ids(store) == [KIM.copy_id]


async def test_the_opt_out_event_itself_is_kept(store: Store):
    await store.record_copies([KIM])
    await opt_out(store, recipient_key(KIM.recipient, KEY), "untracked", OPTED_OUT_AT)
    await store.record_events([EventRecord(KIM.copy_id, "optout", OPTED_OUT_AT)])
    assert (await store.stats(campaign="spring"))["totals"]["optouts"] == 1


async def test_a_forgotten_recipients_copies_still_lead_to_their_opt_out(store: Store):
    await store.record_copies([KIM])
    await forget(store, KIM.recipient, KEY)  # the copy row now holds the pseudonym
    await opt_out(store, recipient_key(KIM.recipient, KEY), "untracked", OPTED_OUT_AT)
    await store.record_events([EventRecord(KIM.copy_id, "open", OPTED_OUT_AT)])
    assert await stored_copy_ids(store) == []


async def test_forget_makes_later_events_of_earlier_copies_anonymous(store: Store):
    await store.record_copies([KIM, LEE])
    await forget(store, KIM.recipient, KEY, now=OPTED_OUT_AT)
    after = OPTED_OUT_AT + timedelta(seconds=1)
    await store.record_events(
        [EventRecord(KIM.copy_id, "open", after), EventRecord(LEE.copy_id, "open", after)]
    )
    standin = standin_copy_id("spring", "a", "sales", "ann@corp.example")
    assert sorted(await stored_copy_ids(store)) == sorted([standin, LEE.copy_id])


async def test_a_stricter_choice_survives_forget(store: Store):
    key = recipient_key(KIM.recipient, KEY)
    await opt_out(store, key, "untracked", OPTED_OUT_AT)
    await forget(store, KIM.recipient, KEY, now=OPTED_OUT_AT + timedelta(days=1))
    assert await optouts_of(store, [key]) == {key: "untracked"}


async def test_under_load_withdrawn_events_interleaved_with_others_count_exactly(store: Store):
    people = [personal(n, f"p{n}@load.test") for n in range(1, 201)]
    await store.record_copies(people)
    untracked, anonymous = people[:20], people[20:40]  # 10% each of the recipients
    for person, choice in [(p, "untracked") for p in untracked] + [
        (p, "anonymous") for p in anonymous
    ]:
        await opt_out(store, recipient_key(person.recipient, KEY), choice, OPTED_OUT_AT)
    after = OPTED_OUT_AT + timedelta(minutes=1)
    # 20,000 opens in 8 batches, the withdrawn recipients' copies among the rest.
    batch: list[EventRecord] = []
    for i in range(20_000):
        batch.append(
            EventRecord(people[i % 200].copy_id, "open", after + timedelta(milliseconds=i))
        )
        if len(batch) == 2_500:
            await store.record_events(batch)
            batch = []
    async with store.engine.connect() as conn:
        ids = (await conn.execute(select(events.c.copy_id))).scalars().all()
    kept = {p.copy_id for p in people[40:]}
    assert sum(i in kept for i in ids) == 160 * 100
    standin = standin_copy_id("spring", "a", "sales", "ann@corp.example")
    assert ids.count(standin) == 20 * 100
    assert not {p.copy_id for p in untracked + anonymous} & set(ids)
    assert len(ids) == 18_000
    totals = (await store.stats(campaign="spring"))["totals"]
    assert (totals["sent"], totals["opens"]) == (200, 18_000)


async def test_another_nodes_opt_out_applies_within_the_refresh_interval(open_store):
    node_a, node_b = await open_store(), await open_store()  # two trackers, one database
    await node_a.upgrade()
    now = [100.0]
    node_b = Store(
        node_b.engine, withdrawal=Withdrawal(KEY, refresh_seconds=2.0, clock=lambda: now[0])
    )
    await node_a.record_copies([KIM])
    at = OPTED_OUT_AT + timedelta(minutes=1)
    await node_b.record_events([EventRecord(KIM.copy_id, "open", at)])  # B reads the list
    await opt_out(node_a, recipient_key(KIM.recipient, KEY), "untracked", OPTED_OUT_AT)
    now[0] += 1.9  # within the bound B may not know yet
    await node_b.record_events([EventRecord(KIM.copy_id, "open", at)])
    assert len(await stored_copy_ids(node_a)) == 2
    now[0] += 0.1  # the bound: B reads the list again
    await node_b.record_events([EventRecord(KIM.copy_id, "open", at)] * 5)
    assert len(await stored_copy_ids(node_a)) == 2
    assert node_b.withdrawal.dropped == 5


async def test_between_full_readings_only_new_opt_outs_are_read_and_an_opt_in_waits(store: Store):
    now = [0.0]
    store = Store(
        store.engine, withdrawal=Withdrawal(KEY, refresh_seconds=2.0, clock=lambda: now[0])
    )
    await store.record_copies([KIM, LEE])
    kim, lee = recipient_key(KIM.recipient, KEY), recipient_key(LEE.recipient, KEY)
    await opt_out(store, kim, "untracked", OPTED_OUT_AT)
    after = OPTED_OUT_AT + timedelta(hours=1)
    await store.record_events([EventRecord(KIM.copy_id, "open", after)])  # a full reading
    await opt_out(store, lee, "untracked", OPTED_OUT_AT + timedelta(minutes=1))
    await opt_in(store, kim)
    now[0] += 2.0  # a look at what is new: Lee's opt-out
    both = [EventRecord(KIM.copy_id, "open", after), EventRecord(LEE.copy_id, "open", after)]
    await store.record_events(both)
    assert await stored_copy_ids(store) == [], "Kim's opt-in is not seen yet: the stricter holds"
    now[0] += 60.0  # the full reading: Kim's row is gone
    await store.record_events(both)
    assert await stored_copy_ids(store) == [KIM.copy_id]
