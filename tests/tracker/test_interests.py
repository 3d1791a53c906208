"""Interest profiles: built from consented recipients' human clicks in personal
copies only, erased by forget, opt-out and withdrawal, part of the consent export."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from sigrelay.cli import main
from tracker.recipients import recipient_key
from tracker.store import CopyRecord, EventRecord, Store
from tracker.store.interests import (
    CopyFacts,
    InterestProfiles,
    InterestRules,
    Interests,
    profile_increments,
)
from tracker.store.models import interest_profiles
from tracker.store.optout import add_consent, opt_out, remove_consent
from tracker.store.retention import forget
from tracker.store.timing import TimingRules

KEY = b"interest-tests-pseudonym-key-001"
KIM, LEE = "kim@customer.test", "lee@customer.test"
KIM_KEY, LEE_KEY = recipient_key(KIM, KEY), recipient_key(LEE, KEY)
CONSENTED = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
PUMPS = "https://www.example.com/pumps/p100"
BURST_GAP = timedelta(milliseconds=500)
RULES = InterestRules(
    links=(("https://www.example.com/pumps", "pumps"),),
    domains=(("service.example.com", "service"),),
    banners=(("spring", "a", "https://fair.example.com", "fairs"),),
)


def copy(copy_id: str, privacy: str = "personal", recipient: str | None = KIM) -> CopyRecord:
    domain = None if privacy == "anonymous" else "customer.test"
    return CopyRecord(
        copy_id, "q1", NOW - timedelta(days=1), "ann@corp.example", "sales", privacy,
        "spring", "a", recipient if privacy == "personal" else None, domain,
    )  # fmt: skip


def click(copy_id: str, target: str = PUMPS, verdict: str = "human", at: datetime = NOW):
    return EventRecord(copy_id, "click", at, verdict, target)


# --- pure: which clicks count ----------------------------------------------------

FACTS = {
    "p": CopyFacts("personal", KIM, "spring", "a"),
    "d": CopyFacts("domain", None, "spring", "a"),
    "l": CopyFacts("personal", LEE, "spring", "a"),
}


def added(*records: EventRecord) -> dict:
    key_of = {KIM: KIM_KEY, LEE: LEE_KEY}.__getitem__
    return profile_increments(records, FACTS, key_of, {KIM_KEY: CONSENTED}, RULES)


def test_a_consented_recipients_human_click_counts_for_every_topic_of_the_link():
    later = NOW + timedelta(hours=1)
    found = added(
        click("p"), click("p", at=later), click("p", "https://fair.example.com/?utm_source=x")
    )
    assert found == {(KIM_KEY, "pumps"): (2, later), (KIM_KEY, "fairs"): (1, NOW)}


def test_machines_clicks_count_for_nothing():
    assert added(*(click("p", verdict=v) for v in ("scanner", "proxy", "prefetch"))) == {}


def test_clicks_in_domain_copies_or_of_recipients_without_consent_count_for_nothing():
    assert added(click("d"), click("l")) == {}


def test_a_click_before_the_consent_counts_for_nothing():
    assert added(click("p", at=CONSENTED - timedelta(seconds=1))) == {}


def test_opens_and_links_of_no_topic_count_for_nothing():
    opened = EventRecord("p", "open", NOW)
    assert added(opened, click("p", "https://www.example.com/contact")) == {}


# --- in the store ------------------------------------------------------------------


async def _store(store: Store) -> Store:
    await store.record_copies(
        [copy("00000000000000p1"), copy("00000000000000d1", "domain"),
         copy("00000000000000a1", "anonymous"), copy("00000000000000l1", recipient=LEE)]
    )  # fmt: skip
    await add_consent(store, KIM_KEY, CONSENTED)
    return Store(store.engine, interests=Interests(RULES, KEY))


async def profiles(store: Store) -> dict[tuple[str, str], tuple[int, datetime]]:
    table = interest_profiles.c
    query = select(table.recipient_key, table.topic, table.clicks, table.last_at)
    async with store.engine.connect() as conn:
        return {(k, t): (n, at) for k, t, n, at in await conn.execute(query)}


async def test_batches_add_to_the_profile_of_the_consented_personal_recipient(store: Store):
    writing = await _store(store)
    later = NOW + timedelta(hours=2)
    await writing.record_events([click("00000000000000p1"), click("00000000000000d1")])
    await writing.record_events(
        [click("00000000000000p1", at=later), click("00000000000000a1"),
         click("00000000000000l1"), click("00000000000000p1", verdict="scanner")]
    )  # fmt: skip
    assert await profiles(store) == {(KIM_KEY, "pumps"): (2, later)}


async def test_no_profile_is_built_for_a_recipient_who_opted_out(store: Store):
    writing = await _store(store)
    await opt_out(store, KIM_KEY, "anonymous", NOW - timedelta(hours=1))
    await writing.record_events([click("00000000000000p1")])
    assert await profiles(store) == {}


async def test_a_store_without_interests_builds_no_profile(store: Store):
    await _store(store)
    await store.record_events([click("00000000000000p1")])
    assert await profiles(store) == {}


async def test_forget_erases_the_profile(store: Store):
    writing = await _store(store)
    await writing.record_events([click("00000000000000p1")])
    result = await forget(store, KIM, KEY, NOW)
    assert await profiles(store) == {}
    assert result.rows == 2  # the copy pseudonymised, the profile row deleted


async def test_an_opt_out_erases_the_profile(store: Store):
    writing = await _store(store)
    await writing.record_events([click("00000000000000p1")])
    await opt_out(store, KIM_KEY, "untracked", NOW)
    assert await profiles(store) == {}


async def test_withdrawing_consent_erases_the_profile_and_builds_none_after(store: Store):
    writing = await _store(store)
    await writing.record_events([click("00000000000000p1")])
    assert await remove_consent(store, KIM_KEY, NOW, then=None)
    assert await profiles(store) == {}
    await writing.record_events([click("00000000000000p1", at=NOW + timedelta(minutes=1))])
    assert await profiles(store) == {}


async def test_the_relay_knows_targeted_topics_of_consented_recipients_only(store: Store):
    writing = await _store(store)
    await writing.record_events([click("00000000000000p1")])
    enabled = [True]
    known = InterestProfiles(store, KEY, lambda: frozenset({"pumps"}), lambda: enabled[0])
    await known.refresh()
    assert known.topics_of(KIM.upper()) == {"pumps"}
    assert known.topics_of(LEE) == frozenset()
    enabled[0] = False  # privacy.require_consent switched off: nothing targets
    await known.refresh()
    assert known.topics_of(KIM) == frozenset()


async def test_consent_export_carries_the_profiles(store: Store, database_url: str, tmp_path: Path):
    writing = await _store(store)
    await writing.record_events([click("00000000000000p1")])
    env = {"SIGRELAY_STORE__URL": database_url, "SIGRELAY_DATA": str(tmp_path)}
    # The command runs its own event loop: in a thread, beside this test's.
    runner = CliRunner()
    result = await asyncio.to_thread(
        runner.invoke, main, ["consent", "export", "--format", "json"], env=env
    )
    assert result.exit_code == 0, result.output
    exported = json.loads(result.stdout)
    assert exported["interests"] == [
        {"recipient_key": KIM_KEY, "topic": "pumps", "clicks": 1, "last_at": NOW.isoformat()}
    ]
    result = await asyncio.to_thread(runner.invoke, main, ["consent", "export"], env=env)
    tables = result.stdout.split("\n\n")
    assert tables[1].splitlines() == [
        "recipient_key,topic,clicks,last_at",
        f"{KIM_KEY},pumps,1,{NOW.isoformat()}",
    ]


async def test_a_stored_click_re_marked_as_a_scanners_burst_leaves_the_profile(store: Store):
    await _store(store)
    burst = TimingRules(click_after_send=timedelta(0), burst=timedelta(seconds=1))
    writing = Store(store.engine, timing=burst, interests=Interests(RULES, KEY))
    await writing.record_events([click("00000000000000p1")])
    assert await profiles(store) == {(KIM_KEY, "pumps"): (1, NOW)}
    # Another link of the same copy half a second later: both were a scanner's.
    other = click("00000000000000p1", "https://www.example.com/contact", at=NOW + BURST_GAP)
    await writing.record_events([other])
    assert await profiles(store) == {}
