"""Interest profiles (the Inxmail model): what a recipient clicked, by topic.

Built only where the law and the config allow it: `privacy.require_consent`
is on, the copy is personal (names its recipient), the recipient's consent
is recorded (and given before the click), they have not opted out, and the
click is a person's (verdict `human`: no scanner, proxy or prefetch). Every
other click, and every other privacy mode, builds nothing.

The step runs in the events' batch transaction (Store.record_events), after
the timing rules and the withdrawal, so it sees the batch as it is stored:
withdrawn recipients' events are gone or moved to stand-in copies, which name
nobody. Stored clicks that the timing rules re-mark as a burst of a scanner
are taken back out of the profile.

A profile row is (recipient key, topic) -> clicks and the last click's time:
no address (the recipient key of tracker/recipients.py, as the consent list
uses), no URL. It is erased with the consent, by an opt-out
(tracker/store/optout.py) and by `forget` (tracker/store/retention.py), and is
part of the consent export (`sigrelay consent export`).

Campaigns target by topic (`target_topics`, config/campaigns.py); the relay
plans synchronously, so `InterestProfiles` keeps the profiles of the targeted
topics in memory, refreshed by a task, as behaviour.py does for follow-ups.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import String, bindparam, case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from config.model import Config
from config.schema import PrivacyMode
from tracker.recipients import recipient_key, recipient_key_of_stored
from tracker.store.idlists import among, per_dialect
from tracker.store.models import consents, copies, interest_profiles, optouts
from tracker.store.records import EventRecord

if TYPE_CHECKING:
    from tracker.store.store import Store

log = logging.getLogger("sigrelay.tracker.interests")

REFRESH_SECONDS = 60.0
HUMAN = "human"
# Where a link prefix may end inside a longer URL: "/pumps" is not "/pumpsale".
_BOUNDARIES = ("/", "?", "#", "&")

_COPY_FACTS = per_dialect(
    lambda dialect: select(
        copies.c.copy_id, copies.c.privacy, copies.c.recipient, copies.c.campaign, copies.c.variant
    ).where(among(copies.c.copy_id, String, dialect))
)


def _starts(url: str, prefix: str) -> bool:
    if not url.startswith(prefix):
        return False
    rest = url[len(prefix) :]
    return not rest or prefix.endswith(_BOUNDARIES) or rest.startswith(_BOUNDARIES)


def _host(url: str) -> str:
    rest = url.partition("://")[2]
    host = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    return host.rpartition("@")[2].split(":", 1)[0].rstrip(".")


@dataclass(frozen=True)
class InterestRules:
    """Which topics a click counts for, from `[[topics]]` and the variants'
    `topics`. Plain tuples: pickled for the writer process."""

    links: tuple[tuple[str, str], ...] = ()  # (lower-case URL prefix, topic)
    domains: tuple[tuple[str, str], ...] = ()  # (domain, topic)
    banners: tuple[tuple[str, str, str, str], ...] = ()  # (campaign, variant, link, topic)

    def topics_of(self, target: str, campaign: str | None, variant: str | None) -> set[str]:
        """The topics of a click on `target` in a copy of `campaign`/`variant`."""
        url = target.lower()
        host = _host(url)
        found = {topic for prefix, topic in self.links if _starts(url, prefix)}
        found.update(t for d, t in self.domains if host == d or host.endswith("." + d))
        found.update(
            topic
            for c, v, link, topic in self.banners
            if c == campaign and v == variant and _starts(url, link)
        )
        return found


def interest_rules(cfg: Config) -> InterestRules | None:
    """The rules, or None where no profile may be built: without
    `privacy.require_consent` (nobody's consent is asked) or with no topics."""
    if not cfg.privacy.require_consent:
        return None
    rules = InterestRules(
        links=tuple((link.lower(), t.name) for t in cfg.topics for link in t.links),
        domains=tuple((domain, t.name) for t in cfg.topics for domain in t.domains),
        banners=tuple(
            (c.id, v.id, v.link.lower(), topic)
            for c in cfg.campaigns
            for v in c.variants
            if v.link
            for topic in v.topics
        ),
    )
    return rules if rules.links or rules.domains or rules.banners else None


class CopyFacts(NamedTuple):
    privacy: str
    recipient: str | None
    campaign: str | None
    variant: str | None


Increments = dict[tuple[str, str], tuple[int, datetime]]  # (key, topic) -> (clicks, last)


def profile_increments(
    records: Iterable[EventRecord],
    facts: Mapping[str, CopyFacts],
    key_of: Callable[[str], str],
    consented: Mapping[str, datetime],
    rules: InterestRules,
) -> Increments:
    """What these events add to the profiles (pure). `consented`: recipient key
    -> when consent was given, for those with consent and no opt-out."""
    added: Increments = {}
    for record in records:
        if record.kind != "click" or record.verdict != HUMAN or not record.target:
            continue
        fact = facts.get(record.copy_id)
        if fact is None or fact.privacy != PrivacyMode.PERSONAL or not fact.recipient:
            continue
        key = key_of(fact.recipient)
        given = consented.get(key)
        if given is None or record.at < given:
            continue  # no consent, or not yet at the time of the click
        for topic in rules.topics_of(record.target, fact.campaign, fact.variant):
            clicks, last = added.get((key, topic), (0, record.at))
            added[key, topic] = (clicks + 1, max(last, record.at))
    return added


@dataclass(frozen=True)
class Interests:
    """The batch step (Store.record_events). `pseudonym_key` names recipients
    as the consent list does."""

    rules: InterestRules
    pseudonym_key: bytes

    async def add(
        self, conn: AsyncConnection, records: list[EventRecord], remarked: list[EventRecord]
    ) -> None:
        """Add the batch's human clicks; take back stored clicks now judged a scanner's."""
        clicks = [r for r in (*records, *remarked) if r.kind == "click" and r.target]
        if not clicks:
            return
        facts = await _copy_facts(conn, {r.copy_id for r in clicks})
        personal = {f.recipient for f in facts.values() if f.privacy == PrivacyMode.PERSONAL}
        keys = {r: recipient_key_of_stored(r, self.pseudonym_key) for r in personal if r}
        if not keys:
            return
        consented = await _consented(conn, set(keys.values()))
        if not consented:
            return
        added = profile_increments(records, facts, keys.__getitem__, consented, self.rules)
        taken = profile_increments(remarked, facts, keys.__getitem__, consented, self.rules)
        if added:
            await conn.execute(_upsert(conn), _rows(added))
        if taken:
            await _take_back(conn, taken)


async def _copy_facts(conn: AsyncConnection, copy_ids: set[str]) -> dict[str, CopyFacts]:
    rows = await conn.execute(_COPY_FACTS[conn.dialect.name], {"ids": sorted(copy_ids)})
    return {copy_id: CopyFacts(*rest) for copy_id, *rest in rows}


async def _consented(conn: AsyncConnection, keys: set[str]) -> dict[str, datetime]:
    """Of these keys, those with consent and no opt-out, with their consent's time."""
    wanted = sorted(keys)
    given = select(consents.c.recipient_key, consents.c.at).where(
        consents.c.recipient_key.in_(wanted)
    )
    found = {key: at for key, at in await conn.execute(given)}
    if found:
        opted = select(optouts.c.recipient_key).where(optouts.c.recipient_key.in_(sorted(found)))
        for (key,) in await conn.execute(opted):
            found.pop(key, None)
    return found


def _rows(increments: Increments) -> list[dict[str, Any]]:
    return [
        {"recipient_key": key, "topic": topic, "clicks": clicks, "last_at": last}
        for (key, topic), (clicks, last) in sorted(increments.items())
    ]


def _upsert(conn: AsyncConnection) -> Any:
    # Added, never set: writers on several nodes sum exactly (as the rollup does).
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(interest_profiles)
    table = interest_profiles.c
    return insert.on_conflict_do_update(
        index_elements=["recipient_key", "topic"],
        set_={
            "clicks": table.clicks + insert.excluded.clicks,
            "last_at": case(
                (insert.excluded.last_at > table.last_at, insert.excluded.last_at),
                else_=table.last_at,
            ),
        },
    )


async def _take_back(conn: AsyncConnection, taken: Increments) -> None:
    table = interest_profiles.c
    matches = (table.recipient_key == bindparam("key"), table.topic == bindparam("t"))
    params = [{"key": k, "t": t, "n": n} for (k, t), (n, _last) in sorted(taken.items())]
    await conn.execute(
        update(interest_profiles).where(*matches).values(clicks=table.clicks - bindparam("n")),
        params,
    )
    await conn.execute(delete(interest_profiles).where(table.clicks <= 0))


async def erase(conn: AsyncConnection, key: str) -> int:
    """Delete one recipient's profile (in the caller's transaction); rows deleted."""
    result = await conn.execute(
        delete(interest_profiles).where(interest_profiles.c.recipient_key == key)
    )
    return result.rowcount or 0


@dataclass(frozen=True)
class ProfileRow:
    recipient_key: str
    topic: str
    clicks: int
    last_at: datetime


async def list_profiles(store: Store) -> list[ProfileRow]:
    """Every profile row, by recipient key and topic (`sigrelay consent export`)."""
    table = interest_profiles.c
    query = select(table.recipient_key, table.topic, table.clicks, table.last_at).order_by(
        table.recipient_key, table.topic
    )
    async with store.engine.connect() as conn:
        return [ProfileRow(*row) for row in await conn.execute(query)]


class InterestProfiles:
    """The relay's look-up for campaigns' `target_topics`: address -> topics.

    `targeted`: the topics some campaign targets now (nothing else is read);
    `enabled`: `privacy.require_consent` now. Only recipients whose consent
    is still recorded (and who have not opted out) are known."""

    def __init__(
        self,
        store: Store,
        pseudonym_key: bytes,
        targeted: Callable[[], frozenset[str]],
        enabled: Callable[[], bool],
    ) -> None:
        self.store = store
        self.pseudonym_key = pseudonym_key
        self.targeted = targeted
        self.enabled = enabled
        self._topics: dict[str, frozenset[str]] = {}

    def topics_of(self, address: str) -> frozenset[str]:
        if not self._topics:
            return frozenset()
        return self._topics.get(recipient_key(address, self.pseudonym_key), frozenset())

    async def refresh(self) -> None:
        topics = self.targeted()
        if not topics or not self.enabled():
            self._topics = {}
            return
        table = interest_profiles.c
        query = (
            select(table.recipient_key, table.topic)
            .join(consents, consents.c.recipient_key == table.recipient_key)
            .outerjoin(optouts, optouts.c.recipient_key == table.recipient_key)
            .where(table.topic.in_(sorted(topics)), optouts.c.recipient_key.is_(None))
        )
        found: dict[str, set[str]] = defaultdict(set)
        async with self.store.engine.connect() as conn:
            for key, topic in await conn.execute(query):
                found[key].add(topic)
        self._topics = {key: frozenset(t) for key, t in found.items()}

    async def run(self, interval: float = REFRESH_SECONDS) -> None:
        while True:
            try:
                await self.refresh()
            except Exception as exc:  # store down: keep what we knew
                log.warning("interest profiles not refreshed: %s", exc)
            await asyncio.sleep(interval)
