"""The campaign page at 10 million events, on SQLite and PostgreSQL (issue 16, item 9).

usage: flock /tmp/cpu.lock .venv/bin/python bench/stats.py [--events 10000000]
           [--other-events 2000000] [--copies 1000000] [--backend postgresql|sqlite|both]
           [--sqlite-file PATH] [--keep] [--reuse]

Loads a store as a busy installation's looks after a few months
(bench/stats_data.py: eight campaigns, a million copies, 400 k recipients at
5,000 domains, 150 days, people and machines with their reasons; the measured
campaign holds `--events` events, the others `--other-events`), builds the
rollup with `rollup.rebuild` (which the tests hold to the writer's answers),
VACUUM ANALYZE / ANALYZE as autovacuum would, then times, cold (the first
request on a newly opened Store: new connections, empty SQLite page cache;
the OS file cache stays warm) and warm (median of 3 after that):

- every read the campaign page makes, through the functions the dashboard,
  `sigrelay stats` and the API call (Store.stats by day, variant, group and
  domain; reads.events_page; reasons.reason_counts);
- the page itself, GET /admin/campaigns/spring through the tracker's real
  aiohttp app over loopback HTTP (every query, and the rendering);
- the write side: what the rollup costs the writer per batch of 1,000 events;
- the plan of every statement the page runs (EXPLAIN ANALYZE / QUERY PLAN).

PostgreSQL: a scratch database `sigrelay_bench_<pid>` on 127.0.0.1:5432,
created for the run and dropped at its end (`--keep` loads `sigrelay_bench`
instead and keeps it, and the SQLite file, for `--reuse`: measure again,
upgraded first, without loading again; drop it with `dropdb sigrelay_bench`).
Goals: the page in at most 1 s on SQLite and 0.5 s on PostgreSQL.

Last measured (2 cores shared with other work; PostgreSQL 15, SQLite 3.40),
the page at 10 M events on the campaign, warm (cold):
                                 PostgreSQL            SQLite
  before (load average 8-9)      913 ms (1254 ms)      7100 ms (7416 ms)
    stats by domain              564 ms                2631 ms (a row per copy)
    stats by day                  98 ms                1056 ms (sent per day from copies)
    latest events                  2 ms                4725 ms (all the campaign's events, sorted)
  after (load average 1.5-1.8)   227 ms (229 ms)        161 ms (283 ms)   both goals met
    stats by domain               73 ms                  92 ms (5,000 rows, mostly Python)
    the other reads, together     34 ms                  25 ms
  the same figures before and after (sent=379390 impressions=3344908 ...);
  migration 0012 on the loaded data: 5.7 s / 12.3 s (with ANALYZE); per 1,000
  copies of one campaign recorded in one transaction, the trigger adds 51 ms on
  PostgreSQL (12 -> 64 ms), 15 ms on SQLite (8 -> 23 ms).
Command: flock /tmp/cpu.lock .venv/bin/python bench/stats.py (--keep, then
--reuse, for the "after" on the same data, upgraded).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stats_data import (  # noqa: E402
    CAMPAIGN,
    START,
    drop_postgresql,
    load_postgresql,
    load_sqlite,
)
from tracker.app import make_app  # noqa: E402
from tracker.dashboard import DashboardSettings, reads  # noqa: E402
from tracker.dashboard.auth import (  # noqa: E402
    SESSION_COOKIE,
    Admins,
    ApiTokens,
    LoginThrottle,
    Sessions,
)
from tracker.dashboard.views import BREAKDOWNS  # noqa: E402
from tracker.events import HitReader, LocalEvents  # noqa: E402
from tracker.store import EventRecord, Store, queries, reasons, rollup  # noqa: E402
from tracker.store.bulk import BulkInsert  # noqa: E402
from tracker.store.models import copies  # noqa: E402
from tracker.store.throttle import Throttle  # noqa: E402
from tracker.tokens import Keyring  # noqa: E402
from tracker.writer import EventWriter  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_KEPT = "sigrelay_bench"  # the database --keep keeps and --reuse measures again
GOAL_MS = {"sqlite": 1000.0, "postgresql": 500.0}
BATCH_KINDS = ("impression",) * 6 + ("open",) * 3 + ("click",)
BATCH_VERDICTS = ("human",) * 7 + ("proxy", "prefetch", "scanner")


async def build_rollup(url: str) -> float:
    store = await Store.open(url)
    began = time.perf_counter()
    async with store.engine.begin() as conn:
        await conn.run_sync(rollup.rebuild)
    await store.close()
    await vacuum_analyze(url)
    return time.perf_counter() - began


async def upgrade(url: str) -> float:
    store = await Store.open(url)
    began = time.perf_counter()
    await store.upgrade()
    await store.close()
    await vacuum_analyze(url)
    return time.perf_counter() - began


async def vacuum_analyze(url: str) -> None:
    """Statistics and PostgreSQL's visibility map after a bulk change, as
    autovacuum (or SQLite's `PRAGMA optimize`) keeps them on a live system."""
    if url.startswith("postgresql"):
        import asyncpg

        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        await conn.execute("VACUUM ANALYZE")
        await conn.close()
    else:
        db = sqlite3.connect(url.removeprefix("sqlite+aiosqlite:///"))
        db.execute("ANALYZE")
        db.close()


def _ms(seconds: float) -> float:
    return seconds * 1000


async def _cold_and_warm(action: Callable[[], Awaitable[object]], repeat: int = 3):
    """The first run's time, then the median of `repeat` more; and the same in
    this process's CPU time (what the machine's other work cannot stretch)."""
    wall, cpu, result = [], [], None
    for _ in range(1 + repeat):
        began, began_cpu = time.perf_counter(), time.process_time()
        result = await action()
        wall.append(_ms(time.perf_counter() - began))
        cpu.append(_ms(time.process_time() - began_cpu))
    return (wall[0], statistics.median(wall[1:]), result), (cpu[0], statistics.median(cpu[1:]))


def page_reads(store: Store) -> dict[str, Callable[[], Awaitable[object]]]:
    """Every read of the campaign page (tracker/dashboard/views.py `campaign`), by name."""
    found: dict[str, Callable[[], Awaitable[object]]] = {
        f"Store.stats(by={by!r})": lambda by=by: store.stats(by=by, campaign=CAMPAIGN)
        for by in BREAKDOWNS
    }
    found["reads.events_page(limit=50)"] = lambda: reads.events_page(
        store, campaign=CAMPAIGN, limit=50
    )
    found["reasons.reason_counts"] = lambda: reasons.reason_counts(store, CAMPAIGN)
    found["reads.campaign_start"] = lambda: reads.campaign_start(store, CAMPAIGN)
    found["reads.copies_per_variant"] = lambda: reads.copies_per_variant(store, CAMPAIGN)
    return found


async def measure(url: str) -> None:
    dialect = "postgresql" if url.startswith("postgresql") else "sqlite"
    goal = GOAL_MS[dialect]
    # Cold: a Store opened for the page alone (new connections, empty caches).
    store = await Store.open(url)
    try:
        (cold, warm, size), (cold_cpu, warm_cpu) = await _cold_and_warm(
            lambda: campaign_page(store)
        )
    finally:
        await store.close()
    print(
        f"  campaign page GET /admin/campaigns/{CAMPAIGN} ({size / 1024:.0f} KB of HTML): "
        f"cold {cold:.1f} ms, warm {warm:.1f} ms; goal {goal:.0f} ms: "
        f"{warm / goal:.2f} of it warm, {cold / goal:.2f} cold "
        f"({'met' if max(cold, warm) <= goal else 'NOT met'}); CPU time of this process "
        f"(the tracker's app, and the SQLite engine): cold {cold_cpu:.1f} ms, "
        f"warm {warm_cpu:.1f} ms"
    )
    store = await Store.open(url)
    try:
        total = 0.0
        for name, read in page_reads(store).items():
            (cold, warm, _), _ = await _cold_and_warm(read)
            total += warm
            print(f"    {name:<28} cold {cold:8.1f} ms  warm {warm:8.1f} ms")
        print(f"    {'the reads, warm':<28} {total:.1f} ms ({total / goal:.2f} of the goal)")
        totals = (await store.stats(campaign=CAMPAIGN))["totals"]
        print(
            "    figures: "
            + " ".join(f"{k}={totals[k]}" for k in ("sent", "impressions", "opens", "clicks"))
            + f" ctr={totals['ctr']:.4f} human={totals['human']} machine={totals['machine']}"
        )
        await write_cost(store)
        await explain(store)
    finally:
        await store.close()


async def campaign_page(store: Store) -> int:
    """One GET of the campaign page through the tracker's real aiohttp app."""
    sessions = Sessions(b"bench-session-key-32-bytes-long!")
    settings = DashboardSettings(
        store=store,
        admins=Admins({}),
        api_tokens=ApiTokens([]),
        sessions=sessions,
        login_throttle=LoginThrottle(Throttle(store)),
        campaign_names={CAMPAIGN: "Spring"},
    )
    keyring = Keyring({"b1": b"bench-signing-key-32-bytes-long!"}, current="b1")
    with tempfile.TemporaryDirectory() as tmp:
        writer = LocalEvents(
            EventWriter(store, Path(tmp) / "events.journal", flush_interval=3600),
            HitReader(keyring),
        )
        app = make_app(keyring, writer, lambda c, v: None, dashboard=settings)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        _, cookie = sessions.issue("bench")
        try:
            async with aiohttp.ClientSession(cookies={SESSION_COOKIE: cookie}) as http:
                url = f"http://127.0.0.1:{port}/admin/campaigns/{CAMPAIGN}"
                async with http.get(url, allow_redirects=False) as response:
                    if response.status != 200:
                        raise RuntimeError(f"campaign page: HTTP {response.status}")
                    return len(await response.read())
        finally:
            await runner.cleanup()


def _batch(rng: random.Random, size: int, copies_count: int) -> list[EventRecord]:
    """A writer's batch: events of one day on random copies of the measured campaign."""
    campaign_copies = range(0, copies_count, 4)
    day = START + timedelta(days=100)
    return [
        EventRecord(
            f"{campaign_copies[rng.randrange(len(campaign_copies))]:016x}",
            rng.choice(BATCH_KINDS),
            day + timedelta(seconds=i),
            rng.choice(BATCH_VERDICTS),
        )
        for i in range(size)
    ]


def _new_copy(number: int) -> dict[str, object]:
    """A copy of the measured campaign the relay records now (Store.record_copies' rows)."""
    domain = f"d{number % 5000}.test"
    return dict(
        copy_id=f"{number:016x}", queue_id=f"q{number}", sent_at=START + timedelta(days=119),
        sender="s1@example.com", group="sales", privacy="personal", campaign=CAMPAIGN,
        variant="a", recipient=f"r{number}@{domain}", domain=domain, recipients=1,
    )  # fmt: skip


async def write_cost(store: Store, batches: int = 20, size: int = 1000) -> None:
    """What the rollup costs the writer per batch of events, against the events
    insert, in the writer's transaction, and what recording a batch of copies
    costs (with the trigger adding their "sent"); rolled back (the loaded data
    stay as they are). Each events batch runs twice, the second timed."""
    rng = random.Random(3)
    insert_events = BulkInsert(queries.insert_events(), ("copy_id", "kind", "at", "verdict"))
    spent: dict[str, list[float]] = {"events insert": [], "rollup and reasons": []}
    async with store.engine.connect() as conn:
        copies_count = (await conn.execute(select(func.count()).select_from(copies))).scalar_one()
        await conn.rollback()
        for records in [_batch(rng, size, copies_count) for _ in range(batches)] * 2:
            rows = [(r.copy_id, r.kind, r.at, r.verdict) for r in records]
            transaction = await conn.begin()
            began = time.perf_counter()
            await insert_events.execute(conn, rows)
            middle = time.perf_counter()
            keys = await rollup.add_events(conn, records)
            await reasons.add_reasons(conn, records, (), reasons.CampaignOf(), keys)
            spent["events insert"].append(middle - began)
            spent["rollup and reasons"].append(time.perf_counter() - middle)
            await transaction.rollback()
    async with store.engine.connect() as conn:
        spent["copies insert (relay's sent facts)"] = samples = []
        for number in range(batches * 2):
            rows = [_new_copy(copies_count + number * size + i) for i in range(size)]
            transaction = await conn.begin()
            began = time.perf_counter()
            await conn.execute(queries.insert_copies_once(store.dialect), rows)
            samples.append(time.perf_counter() - began)
            await transaction.rollback()
    took = {step: _ms(statistics.median(samples[batches:])) for step, samples in spent.items()}
    print(
        f"  write side, per batch of {size} events or copies (median of {batches}): "
        + ", ".join(f"{step} {ms:.1f} ms" for step, ms in took.items())
    )


def page_statements(dialect: str, walk_events: bool) -> dict[str, object]:
    """The statements behind `page_reads`, for their plans."""
    return {
        "totals (figures_per None)": rollup.figures_per(None, CAMPAIGN),
        **{
            f"by {by} (figures_per)": rollup.figures_per(by, CAMPAIGN)
            for by in BREAKDOWNS
            if by != "day"
        },
        "by day (counts_per)": rollup.counts_per("day", CAMPAIGN),
        f"latest events (events_page, walk_events={walk_events})": reads.events_page_query(
            None, 50, CAMPAIGN, walk_events=walk_events
        ),
        "reasons (reasons_query)": reasons.reasons_query(CAMPAIGN),
    }


async def explain(store: Store) -> None:
    """The plan of every statement the campaign page runs, with its time on PostgreSQL."""
    prefix = "EXPLAIN ANALYZE " if store.dialect == "postgresql" else "EXPLAIN QUERY PLAN "
    async with store.engine.connect() as conn:
        walk = await reads.walks_events(conn, CAMPAIGN, 50)
        for label, statement in page_statements(store.dialect, walk).items():
            compiled = statement.compile(conn.sync_engine, compile_kwargs={"literal_binds": True})
            plan = await conn.exec_driver_sql(prefix + str(compiled))
            print(f"  plan: {label}")
            for row in plan:
                print("    " + " | ".join(str(v) for v in row))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000, help="on the measured campaign")
    parser.add_argument("--other-events", type=int, default=2_000_000)
    parser.add_argument("--copies", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=("postgresql", "sqlite", "both"), default="both")
    parser.add_argument("--keep", action="store_true", help="keep the loaded databases")
    parser.add_argument(
        "--reuse", action="store_true", help="measure the kept databases again, upgraded first"
    )
    parser.add_argument("--sqlite-file", type=Path, default=None, help="the SQLite database")
    args = parser.parse_args()
    print(
        f"{args.events} events on campaign {CAMPAIGN!r}, {args.other_events} on the others, "
        f"{args.copies} copies"
    )
    if args.backend in ("postgresql", "both"):
        # A database of this run's own unless kept: runs never drop each other's.
        database = PG_KEPT if args.keep or args.reuse else f"sigrelay_bench_{os.getpid()}"
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}"
        try:
            if args.reuse:
                print(f"postgresql: upgraded and analysed in {asyncio.run(upgrade(url)):.1f} s")
            else:
                began = time.perf_counter()
                asyncio.run(
                    load_postgresql(PG_ADMIN, database, args.events, args.other_events, args.copies)
                )
                print(f"postgresql: loaded in {time.perf_counter() - began:.0f} s", end="; ")
                print(f"rollup built in {asyncio.run(build_rollup(url)):.1f} s")
            asyncio.run(measure(url))
        finally:
            if not args.keep:
                asyncio.run(drop_postgresql(PG_ADMIN, database))
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            path = args.sqlite_file or Path(tmp) / "bench.db"
            url = f"sqlite+aiosqlite:///{path}"
            if args.reuse and path.exists():
                print(f"sqlite: upgraded and analysed in {asyncio.run(upgrade(url)):.1f} s")
            else:
                path.unlink(missing_ok=True)
                began = time.perf_counter()
                load_sqlite(path, args.events, args.other_events, args.copies)
                print(f"sqlite: loaded in {time.perf_counter() - began:.0f} s", end="; ")
                print(f"rollup built in {asyncio.run(build_rollup(url)):.1f} s")
            asyncio.run(measure(url))
            if not args.keep and args.sqlite_file is not None:
                path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
