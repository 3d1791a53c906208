"""The store: sent facts, events and stats, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from tracker.store import CopyRecord, EventRecord, Store, StoreError
from tracker.store.models import copies, events

SENT = datetime(2025, 3, 10, 9, 30, tzinfo=UTC)
_ids = itertools.count(1)


def copy(**fields) -> CopyRecord:
    values = {
        "copy_id": f"{next(_ids):016x}",
        "queue_id": "q1",
        "sent_at": SENT,
        "sender": "ann@corp.example",
        "group": "sales",
        "privacy": "personal",
        "campaign": "spring",
        "variant": "a",
        "recipient": "kim@customer.test",
        "domain": "customer.test",
    }
    return CopyRecord(**(values | fields))


def event(of: CopyRecord, kind: str, verdict: str = "human", **fields) -> EventRecord:
    at = fields.pop("at", of.sent_at + timedelta(minutes=5))
    return EventRecord(of.copy_id, kind, at, verdict, **fields)


async def test_copies_and_events_are_stored_as_given(store: Store):
    sent = copy()
    click = event(sent, "click", target="https://shop.example/")
    await store.record_copies([sent])
    await store.record_events([click])

    async with store.engine.connect() as conn:
        (copy_row,) = (await conn.execute(select(copies))).mappings()
        (event_row,) = (await conn.execute(select(events))).mappings()
    assert CopyRecord(**copy_row) == sent
    # Every field the table has a column for (`reason` once its migration is in).
    stored = {k: v for k, v in event_row.items() if k != "id"}
    assert stored == {k: v for k, v in vars(click).items() if k in event_row}


async def test_times_come_back_as_aware_utc_whatever_zone_they_went_in(store: Store):
    berlin = timezone(timedelta(hours=1))
    await store.record_copies([copy(sent_at=datetime(2025, 3, 10, 10, 30, tzinfo=berlin))])
    async with store.engine.connect() as conn:
        sent_at = (await conn.execute(select(copies.c.sent_at))).scalar_one()
    assert sent_at == SENT and sent_at.tzinfo is not None and sent_at.utcoffset() == timedelta(0)


async def test_naive_times_are_refused(store: Store):
    with pytest.raises(Exception, match="naive"):
        await store.record_copies([copy(sent_at=datetime(2025, 3, 10, 9, 30))])


async def test_recording_the_same_copy_twice_keeps_one_row(store: Store):
    sent = copy()
    await store.record_copies([sent])
    await store.record_copies([sent, copy()])
    assert (await store.stats())["totals"]["sent"] == 2


async def test_empty_store_gives_zero_totals_and_no_rows(store: Store):
    result = await store.stats(by="campaign")
    assert result["rows"] == []
    assert result["totals"] == {
        "sent": 0,
        "impressions": 0,
        "unique_impressions": 0,
        "opens": 0,
        "unique_opens": 0,
        "clicks": 0,
        "unique_clicks": 0,
        "ctr": 0.0,
        "optouts": 0,
        "visits": 0,
        "unique_visits": 0,
        "link_clicks": 0,
        "unique_link_clicks": 0,
        "downloads": 0,
        "unique_downloads": 0,
        "human": {"opens": 0, "clicks": 0},
        "machine": {"opens": 0, "clicks": 0},
    }


async def test_sent_counts_the_recipients_of_each_copy(store: Store):
    await store.record_copies([copy(privacy="anonymous", recipient=None, recipients=3), copy()])
    assert (await store.stats())["totals"]["sent"] == 4


async def test_unique_counts_count_distinct_copies(store: Store):
    first, second = copy(), copy()
    await store.record_copies([first, second])
    await store.record_events(
        [event(first, "open"), event(first, "open"), event(second, "open")]
        + [event(first, "click"), event(first, "click")]
    )
    totals = (await store.stats())["totals"]
    assert (totals["opens"], totals["unique_opens"]) == (3, 2)
    assert (totals["clicks"], totals["unique_clicks"]) == (2, 1)


async def test_ctr_is_unique_clicks_over_unique_impressions(store: Store):
    sent = [copy() for _ in range(4)]
    await store.record_copies(sent)
    await store.record_events([event(c, "impression") for c in sent] + [event(sent[0], "click")])
    assert (await store.stats())["totals"]["ctr"] == pytest.approx(0.25)


async def test_proxy_opens_count_as_human_opens_and_prefetch_and_scanners_as_machine(store: Store):
    sent = copy()
    await store.record_copies([sent])
    verdicts = ["human", "proxy", "prefetch", "scanner"]
    await store.record_events([event(sent, "open", v) for v in verdicts])
    totals = (await store.stats())["totals"]
    assert totals["opens"] == 2
    assert totals["human"] == {"opens": 2, "clicks": 0}, "the proxy fetched for a person"
    assert totals["machine"] == {"opens": 2, "clicks": 0}


async def test_scanner_clicks_are_kept_apart_from_human_clicks(store: Store):
    sent = copy()
    await store.record_copies([sent])
    await store.record_events([event(sent, "click", "scanner"), event(sent, "click")])
    totals = (await store.stats())["totals"]
    assert (totals["clicks"], totals["human"]["clicks"], totals["machine"]["clicks"]) == (1, 1, 1)


async def test_events_of_copies_never_recorded_count_nothing(store: Store):
    untracked = copy()  # e.g. an untracked copy's banner token: the relay never records it
    await store.record_events([event(untracked, "impression")])
    assert (await store.stats())["totals"]["impressions"] == 0


async def test_optouts_are_counted(store: Store):
    sent = copy()
    await store.record_copies([sent])
    await store.record_events([event(sent, "optout")])
    assert (await store.stats())["totals"]["optouts"] == 1


@pytest.mark.parametrize("by", ["campaign", "variant", "group", "sender", "domain", "recipient"])
async def test_rows_are_grouped_by_the_copy_field(store: Store, by: str):
    one = copy(**{by: "one"})
    two = [copy(**{by: "two"}), copy(**{by: "two"})]
    await store.record_copies([one, *two])
    await store.record_events([event(one, "open"), event(two[0], "click")])

    rows = {row[by]: row for row in (await store.stats(by=by))["rows"]}
    assert sorted(rows) == ["one", "two"]
    assert (rows["one"]["sent"], rows["one"]["opens"], rows["one"]["clicks"]) == (1, 1, 0)
    assert (rows["two"]["sent"], rows["two"]["opens"], rows["two"]["clicks"]) == (2, 0, 1)


async def test_anonymous_copies_form_a_row_without_a_key(store: Store):
    await store.record_copies([copy(recipient=None, domain=None, privacy="anonymous"), copy()])
    rows = (await store.stats(by="recipient"))["rows"]
    assert [(r["recipient"], r["sent"]) for r in rows] == [("kim@customer.test", 1), (None, 1)]


async def test_by_day_sent_counts_on_the_sending_day_and_events_on_their_own(store: Store):
    sent = copy(sent_at=datetime(2025, 3, 10, 23, 50, tzinfo=UTC))
    await store.record_copies([sent])
    await store.record_events([event(sent, "open", at=datetime(2025, 3, 11, 0, 10, tzinfo=UTC))])
    rows = (await store.stats(by="day"))["rows"]
    assert [(r["day"], r["sent"], r["opens"]) for r in rows] == [
        ("2025-03-10", 1, 0),
        ("2025-03-11", 0, 1),
    ]


async def test_days_are_utc_days(store: Store):
    tokyo = timezone(timedelta(hours=9))
    await store.record_copies([copy(sent_at=datetime(2025, 3, 11, 8, 0, tzinfo=tokyo))])
    assert [r["day"] for r in (await store.stats(by="day"))["rows"]] == ["2025-03-10"]


async def test_campaign_filter_limits_totals_and_rows(store: Store):
    spring, autumn = copy(campaign="spring"), copy(campaign="autumn", variant="b")
    await store.record_copies([spring, autumn])
    await store.record_events([event(spring, "open"), event(autumn, "open")])
    result = await store.stats(by="variant", campaign="autumn")
    assert (result["totals"]["sent"], result["totals"]["opens"]) == (1, 1)
    assert [r["variant"] for r in result["rows"]] == ["b"]


async def test_totals_are_not_the_sum_of_rows_for_unique_counts(store: Store):
    sent = copy()
    await store.record_copies([sent])
    days = [datetime(2025, 3, d, 12, tzinfo=UTC) for d in (11, 12)]
    await store.record_events([event(sent, "open", at=day) for day in days])
    result = await store.stats(by="day")
    assert sum(r["unique_opens"] for r in result["rows"]) == 2
    assert result["totals"]["unique_opens"] == 1


async def test_unknown_grouping_is_refused_naming_the_choices(store: Store):
    with pytest.raises(StoreError, match="campaign, variant"):
        await store.stats(by="ip")


async def test_ping_answers_on_a_reachable_store(store: Store):
    await store.ping()


async def test_unsupported_url_scheme_is_refused():
    with pytest.raises(StoreError, match="sqlite\\+aiosqlite"):
        await Store.open("mysql://localhost/db")


async def test_landing_page_events_count_in_total_and_in_copies(store: Store):
    visited, other = copy(), copy()
    await store.record_copies([visited, other])
    landing = [event(visited, "visit"), event(visited, "visit"), event(other, "visit")]
    landing += [event(visited, "link", target="https://shop.example/shoes")]
    landing += [event(visited, "download", target="https://shop.example/catalogue.pdf")]
    await store.record_events(landing)
    totals = (await store.stats())["totals"]
    assert (totals["visits"], totals["unique_visits"]) == (3, 2)
    assert (totals["link_clicks"], totals["unique_link_clicks"]) == (1, 1)
    assert (totals["downloads"], totals["unique_downloads"]) == (1, 1)
    assert totals["clicks"] == 0, "a link clicked on the landing page is not a mail click"


@pytest.mark.parametrize("by", ["campaign", "variant", "group", "sender", "domain", "day"])
async def test_landing_page_events_count_in_every_grouping(store: Store, by: str):
    one, two = copy(**{"campaign": "one", "variant": "one", "group": "one", "sender": "one",
                      "domain": "one"}), copy()  # fmt: skip
    await store.record_copies([one, two])
    day_two = SENT + timedelta(days=1)
    await store.record_events([event(one, "visit"), event(two, "download", at=day_two)])
    rows = (await store.stats(by=by))["rows"]
    assert sum(r["visits"] for r in rows) == 1 and sum(r["downloads"] for r in rows) == 1
    assert [r["visits"] + r["downloads"] for r in rows] == [1, 1], "each in its own row"


async def test_landing_visits_of_shared_copies_name_nobody_by_recipient(store: Store):
    personal = copy(recipient="kim@customer.test")
    shared = copy(privacy="anonymous", recipient=None, domain=None, recipients=4)
    await store.record_copies([personal, shared])
    await store.record_events([event(personal, "visit"), event(shared, "visit")])
    rows = {r["recipient"]: r for r in (await store.stats(by="recipient"))["rows"]}
    assert set(rows) == {"kim@customer.test", None}
    assert (rows["kim@customer.test"]["visits"], rows[None]["visits"]) == (1, 1)
