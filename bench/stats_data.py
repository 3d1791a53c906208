"""Synthetic copies and events for bench/stats.py, loaded in bulk.

What a busy installation's store looks like after a few months: eight
campaigns and copies sent without one, a million copies over 120 days
(personal copies to 400 k recipients at 5,000 domains, some per domain, some
anonymous to several recipients), variants and sender groups, and events in
the order they arrive (ids follow time), each on a copy already sent, mostly
on the copies sent in the last days. The measured campaign gets `events`
events, the others `other_events` between them. Every kind (the tracking
ones, opt-outs, the landing page's), and every verdict with its reason
(people, image proxies, Apple's prefetch, scanners by agent, network, HEAD,
burst, early click) in proportions like those the classifier reports.

Generated streaming (never a list of 10 M rows) and loaded by COPY on
PostgreSQL, executemany in big transactions on SQLite; the rollup is then
built by `rollup.rebuild`, which the tests hold to the writer's answers.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import random
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tracker.store import Store

CAMPAIGN = "spring"
OTHER_CAMPAIGNS = ("summer", "autumn", "winter", "webinar", "launch", "survey", "newsletter")
START = datetime(2025, 3, 1, tzinfo=UTC)
COPIES_SPAN = timedelta(days=120)
EVENTS_SPAN = timedelta(days=150)  # the last copies' events go on for a month
DOMAINS = 5000
RECIPIENTS = 400_000
GROUPS = ("sales", "staff", "support", "marketing")
COPY_COLUMNS = ("copy_id", "queue_id", "sent_at", "sender", "group", "privacy", "campaign",
                "variant", "recipient", "domain", "recipients")  # fmt: skip
EVENT_COLUMNS = ("copy_id", "kind", "at", "verdict", "target", "reason")

# (kind, weight); then per kind, (reason, weight): the verdict is the reason's prefix.
KIND_WEIGHTS = (("impression", 44), ("open", 30), ("click", 13), ("optout", 0.3),
                ("visit", 6), ("link", 4), ("download", 2.7))  # fmt: skip
REASON_WEIGHTS = {
    "impression": (("human", 60), ("proxy:gmail", 14), ("proxy:yahoo", 2),
                   ("prefetch:apple", 18), ("scanner:agent", 4), ("scanner:network", 2)),
    "open": (("human", 55), ("proxy:gmail", 15), ("proxy:yahoo", 3),
             ("prefetch:apple", 20), ("scanner:agent", 5), ("scanner:network", 2)),
    "click": (("human", 72), ("scanner:agent", 8), ("scanner:burst", 8),
              ("scanner:head", 4), ("scanner:early", 5), ("scanner:network", 3)),
}  # fmt: skip


def _campaign_of(i: int) -> str | None:
    """A quarter of the copies belong to the measured campaign, 1 in 20 to none."""
    if i % 4 == 0:
        return CAMPAIGN
    if i % 20 == 1:
        return None
    return OTHER_CAMPAIGNS[(i * 7 + i // 4) % len(OTHER_CAMPAIGNS)]


def _sent_at(i: int, copies: int) -> datetime:
    return START + COPIES_SPAN * (i / copies)


def copy_rows(count: int) -> Iterator[tuple]:
    rng = random.Random(1)
    for i in range(count):
        person = int(RECIPIENTS ** rng.random())  # some people get much more mail
        domain = f"d{int(DOMAINS ** rng.random())}.test"  # and some domains too
        roll = rng.random()
        if roll < 0.85:
            privacy, recipient, recipients = "personal", f"r{person}@{domain}", 1
        elif roll < 0.95:
            privacy, recipient, recipients = "domain", None, rng.choice((1, 1, 2, 3))
        else:
            privacy, recipient, domain, recipients = "anonymous", None, None, rng.randrange(1, 20)
        variant = None if rng.random() < 0.1 else rng.choice(("a", "b"))
        yield (
            f"{i:016x}", f"q{i // 3}", _sent_at(i, count), f"s{rng.randrange(300)}@example.com",
            rng.choice(GROUPS), privacy, _campaign_of(i), variant, recipient, domain, recipients,
        )  # fmt: skip


def _cumulative(weights: tuple[tuple[str, float], ...]) -> tuple[list[str], list[float]]:
    names, cumulative, total = [], [], 0.0
    for name, weight in weights:
        total += weight
        names.append(name)
        cumulative.append(total)
    return names, [c / total for c in cumulative]


def event_rows(events: int, other_events: int, copies: int) -> Iterator[tuple]:
    """`events` on the measured campaign and `other_events` on the others, in time order."""
    rng = random.Random(2)
    # Per campaign: its copies' indexes and sending times (in order of both).
    per_campaign: dict[str | None, list[int]] = {}
    for i in range(copies):
        per_campaign.setdefault(_campaign_of(i), []).append(i)
    others = [c for c in per_campaign if c != CAMPAIGN]
    # Seconds since START: compared a million times, floats are cheaper than datetimes.
    span = COPIES_SPAN.total_seconds()
    sent = {c: [span * i / copies for i in ids] for c, ids in per_campaign.items()}
    kinds, kind_at = _cumulative(KIND_WEIGHTS)
    reasons = {kind: _cumulative(weights) for kind, weights in REASON_WEIGHTS.items()}
    total = events + other_events
    measured_share = events / total if total else 0.0
    left = {CAMPAIGN: events, "others": other_events}
    step = EVENTS_SPAN.total_seconds() / max(total, 1)
    for n in range(total):
        seconds = step * n
        if left[CAMPAIGN] and (not left["others"] or rng.random() < measured_share):
            campaign, left[CAMPAIGN] = CAMPAIGN, left[CAMPAIGN] - 1
        else:
            campaign, left["others"] = rng.choice(others), left["others"] - 1
        ids = per_campaign[campaign]
        newest = bisect.bisect_right(sent[campaign], seconds) - 1
        # Most events come in the days after sending: the copies sent lately.
        recent = int(rng.expovariate(1.0) * len(ids) / 40)
        copy = ids[max(0, newest - recent)]
        kind = kinds[bisect.bisect(kind_at, rng.random())]
        if kind in reasons:
            names, cumulative = reasons[kind]
            reason = names[min(bisect.bisect(cumulative, rng.random()), len(names) - 1)]
        else:
            reason = "human"
        target = f"https://example.com/offer/{copy % 7}" if kind == "click" else None
        at = START + timedelta(seconds=seconds)
        yield (f"{copy:016x}", kind, at, reason.partition(":")[0], target, reason)


async def _schema(url: str) -> None:
    store = await Store.open(url)
    await store.upgrade()
    await store.close()


async def load_postgresql(
    admin_dsn: str, name: str, events: int, other_events: int, copies: int
) -> str:
    """A fresh database `name` (dropped first if a former run left it), loaded."""
    import asyncpg

    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    dsn = admin_dsn.rsplit("/", 1)[0] + f"/{name}"
    url = dsn.replace("postgresql://", "postgresql+asyncpg://")
    await _schema(url)
    conn = await asyncpg.connect(dsn)
    await conn.copy_records_to_table("copies", records=copy_rows(copies), columns=COPY_COLUMNS)
    await conn.copy_records_to_table(
        "events", records=event_rows(events, other_events, copies), columns=EVENT_COLUMNS
    )
    await conn.execute("ANALYZE")
    await conn.close()
    return url


async def drop_postgresql(admin_dsn: str, name: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


def _sqlite_time(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S.%f")  # as the store's UTCDateTime keeps it


def _chunks(rows: Iterator[tuple], size: int = 500_000) -> Iterator[list[tuple]]:
    while True:
        chunk = list(itertools.islice(rows, size))
        if not chunk:
            return
        yield chunk


def load_sqlite(path: Path, events: int, other_events: int, copies: int) -> str:
    url = f"sqlite+aiosqlite:///{path}"
    asyncio.run(_schema(url))
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous=OFF")
    names = ", ".join(f'"{name}"' for name in COPY_COLUMNS)
    for chunk in _chunks(copy_rows(copies)):
        with db:
            db.executemany(
                f"INSERT INTO copies ({names}) VALUES ({', '.join('?' * len(COPY_COLUMNS))})",
                [(*row[:2], _sqlite_time(row[2]), *row[3:]) for row in chunk],
            )
    names = ", ".join(EVENT_COLUMNS)
    for chunk in _chunks(event_rows(events, other_events, copies)):
        with db:
            db.executemany(
                f"INSERT INTO events ({names}) VALUES ({', '.join('?' * len(EVENT_COLUMNS))})",
                [(*row[:2], _sqlite_time(row[2]), *row[3:]) for row in chunk],
            )
    db.execute("ANALYZE")
    db.close()
    return url
