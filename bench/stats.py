"""Stats of a campaign with 10 million events, on PostgreSQL and SQLite.

usage: .venv/bin/python bench/stats.py [--events 10000000] [--copies 1000000]
                                       [--backend postgresql|sqlite|both]

Loads synthetic copies and events (PostgreSQL: COPY into the dedicated
database `sigrelay_bench` on 127.0.0.1:5432, dropped and created afresh;
SQLite: executemany in big transactions into a temporary file), builds the
rollup the way the writer would have, then prints the wall time of
`Store.stats(campaign=...)`, `Store.stats(by="variant", campaign=...)`,
`Store.stats(by="day", campaign=...)` (what the campaign page and
`sigrelay stats --json --campaign` run) and the query plans. `--reuse` first
upgrades the loaded database to the newest schema (a new rollup table is
backfilled from its events by the migration). Targets (issue 7): under 1 s
on PostgreSQL, under 3 s on SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tracker.store import (  # noqa: E402
    Store,  # noqa: E402
    rollup,
)

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_BENCH = "postgresql://postgres@127.0.0.1:5432/sigrelay_bench"
CAMPAIGN = "spring"
START = datetime(2025, 3, 1, tzinfo=UTC)
KINDS = ("impression",) * 6 + ("open",) * 3 + ("click",)
VERDICTS = ("human",) * 7 + ("proxy", "prefetch", "scanner")


def copy_rows(count: int):
    rng = random.Random(1)
    for i in range(count):
        # Four campaigns, so the one measured holds a quarter of the copies... and
        # then most events: the bench gives it 10M events on its own (see events).
        campaign = CAMPAIGN if i % 4 == 0 else f"other{i % 4}"
        yield (
            f"{i:016x}", f"q{i}", START + timedelta(seconds=i * 7),
            f"s{rng.randrange(200)}@example.com",
            rng.choice(("sales", "staff")), "personal", campaign, rng.choice(("a", "b")),
            f"r{i}@d{rng.randrange(5000)}.test", f"d{rng.randrange(5000)}.test", 1,
        )  # fmt: skip


def event_rows(count: int, copies: int):
    rng = random.Random(2)
    campaign_copies = range(0, copies, 4)  # all events on the measured campaign
    for i in range(count):
        copy = campaign_copies[rng.randrange(len(campaign_copies))]
        yield (
            f"{copy:016x}", rng.choice(KINDS), START + timedelta(seconds=i * 3),
            rng.choice(VERDICTS),
        )  # fmt: skip


async def load_postgresql(events: int, copies: int) -> str:
    import asyncpg

    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute("DROP DATABASE IF EXISTS sigrelay_bench")
    await admin.execute("CREATE DATABASE sigrelay_bench")
    await admin.close()
    url = PG_BENCH.replace("postgresql://", "postgresql+asyncpg://")
    store = await Store.open(url)
    await store.upgrade()
    await store.close()
    conn = await asyncpg.connect(PG_BENCH)
    columns = ("copy_id", "queue_id", "sent_at", "sender", "group", "privacy", "campaign",
               "variant", "recipient", "domain", "recipients")  # fmt: skip
    await conn.copy_records_to_table("copies", records=copy_rows(copies), columns=columns)
    await conn.copy_records_to_table(
        "events", records=event_rows(events, copies), columns=("copy_id", "kind", "at", "verdict")
    )
    await conn.execute("ANALYZE")
    await conn.close()
    return url


def load_sqlite(path: Path, events: int, copies: int) -> str:
    url = f"sqlite+aiosqlite:///{path}"

    async def schema() -> None:
        store = await Store.open(url)
        await store.upgrade()
        await store.close()

    asyncio.run(schema())
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous=OFF")
    with db:
        db.executemany(
            'INSERT INTO copies (copy_id, queue_id, sent_at, sender, "group", privacy, campaign, '
            "variant, recipient, domain, recipients) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            ((*r[:2], r[2].strftime("%Y-%m-%d %H:%M:%S.%f"), *r[3:]) for r in copy_rows(copies)),
        )
    rows = event_rows(events, copies)
    while True:
        batch = [
            (r[0], r[1], r[2].strftime("%Y-%m-%d %H:%M:%S.%f"), r[3])
            for r in (next(rows, None) for _ in range(500_000))
            if r is not None
        ]
        if not batch:
            break
        with db:
            db.executemany(
                "INSERT INTO events (copy_id, kind, at, verdict) VALUES (?,?,?,?)", batch
            )
    db.execute("ANALYZE")
    db.close()
    return url


async def build_rollup(url: str) -> float:
    store = await Store.open(url)
    began = time.perf_counter()
    async with store.engine.begin() as conn:
        await conn.run_sync(rollup.rebuild)
    await store.close()
    return time.perf_counter() - began


async def upgrade(url: str) -> float:
    store = await Store.open(url)
    began = time.perf_counter()
    await store.upgrade()
    await store.close()
    return time.perf_counter() - began


async def measure(url: str) -> None:
    store = await Store.open(url)
    try:
        for label, by in (("campaign totals", None), ("by variant", "variant"), ("by day", "day")):
            await store.stats(by=by, campaign=CAMPAIGN)  # warm the cache, as a live system is
            began = time.perf_counter()
            result = await store.stats(by=by, campaign=CAMPAIGN)
            took = time.perf_counter() - began
            totals = result["totals"]
            print(
                f"  stats {label:<16} {took * 1000:8.1f} ms  "
                f"sent={totals['sent']} impressions={totals['impressions']} "
                f"clicks={totals['clicks']} ctr={totals['ctr']:.3f}"
            )
        await explain(store)
    finally:
        await store.close()


async def explain(store: Store) -> None:
    prefix = "EXPLAIN ANALYZE " if store.dialect == "postgresql" else "EXPLAIN QUERY PLAN "
    statements = {
        # What Store.stats(by="variant", campaign=...) runs: one pass over the rollup.
        "stats by variant": rollup.figures_per("variant", CAMPAIGN),
        # What it runs by day: the per-day rollup (events count on their own day).
        "stats by day": rollup.counts_per("day", CAMPAIGN),
    }
    async with store.engine.connect() as conn:
        for label, statement in statements.items():
            compiled = statement.compile(conn.sync_engine, compile_kwargs={"literal_binds": True})
            plan = await conn.exec_driver_sql(prefix + str(compiled))
            print(f"  plan: {label}")
            for row in plan:
                print("    " + " | ".join(str(v) for v in row))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--copies", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=("postgresql", "sqlite", "both"), default="both")
    parser.add_argument(
        "--reuse", action="store_true", help="PostgreSQL: measure the loaded sigrelay_bench again"
    )
    args = parser.parse_args()
    per_campaign = len(range(0, args.copies, 4))
    print(f"{args.events} events on {per_campaign} copies of campaign {CAMPAIGN!r}")
    if args.backend in ("postgresql", "both") and args.reuse:
        url = PG_BENCH.replace("postgresql://", "postgresql+asyncpg://")
        print(f"postgresql: schema upgraded in {asyncio.run(upgrade(url)):.1f} s")
        asyncio.run(measure(url))
    elif args.backend in ("postgresql", "both"):
        began = time.perf_counter()
        url = asyncio.run(load_postgresql(args.events, args.copies))
        print(f"postgresql: loaded in {time.perf_counter() - began:.0f} s", end="; ")
        print(f"rollup built in {asyncio.run(build_rollup(url)):.1f} s")
        asyncio.run(measure(url))
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            began = time.perf_counter()
            url = load_sqlite(Path(tmp) / "bench.db", args.events, args.copies)
            print(f"sqlite: loaded in {time.perf_counter() - began:.0f} s", end="; ")
            print(f"rollup built in {asyncio.run(build_rollup(url)):.1f} s")
            asyncio.run(measure(url))


if __name__ == "__main__":
    main()
