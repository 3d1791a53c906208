"""Stats of a campaign with 10 million events, on PostgreSQL and SQLite.

usage: flock /tmp/cpu.lock .venv/bin/python bench/stats.py [--events 10000000]
           [--copies 1000000] [--backend postgresql|sqlite|both]
           [--sqlite-file PATH] [--reuse]

Loads synthetic copies and events (PostgreSQL: COPY into the dedicated
database `sigrelay_bench` on 127.0.0.1:5432, dropped and created afresh;
SQLite: executemany in big transactions into a temporary file, or
--sqlite-file), builds the rollup the way the writer would have (and VACUUM
ANALYZE / ANALYZE, as autovacuum keeps a live database), then prints, for the
campaign holding the 10 million events (250 k copies, each copy's events
spread over a year, 5,000 recipient domains):

- `sigrelay stats --json --campaign spring` and `--by variant|group|domain|day`
  (Store.stats plus the JSON encoding, as the command runs them);
- the campaign page, GET /admin/campaigns/spring through the tracker's real
  aiohttp app over loopback HTTP (every query it runs, and the rendering);
- the same figures read the way stats read them before the campaign rollups
  (one row per copy, or per copy and day), as the baseline of this run;
- the write side: what the campaign rollups add to the writer per batch of
  1,000 events (each on a random copy of the campaign);
- the plan of every query the page runs.

`--reuse` measures the loaded databases again, upgraded first (a migration
backfills what it adds from the events). Medians of 3 after a warm-up run.
Targets (issue 7): under 1 s on PostgreSQL, under 3 s on SQLite.

Last measured (2 cores shared with other work, under /tmp/cpu.lock; PostgreSQL
15, SQLite 3.40; migration 0006 on the loaded data: 19.8 s PostgreSQL, 117 s
SQLite):
                     PostgreSQL          SQLite
  stats --json        31.6 ms             62.3 ms
    --by variant      36.4 ms             54.5 ms
    --by group        59.0 ms            118.2 ms
    --by domain      603.2 ms            773.4 ms   (one row per copy: 5,000 domains)
    --by day         105.3 ms            141.7 ms
  campaign page      748.8 ms           1305.4 ms   (1.7 MB of HTML)   targets met
  baseline, same run: by day from the per-copy day rollup 2757 ms / 9907 ms
    (17x / 79x slower), by variant from the per-copy rollup 256 ms / 492 ms
  write side per 1,000 events: events insert 17.1 / 17.0 ms, per-copy
    rollups 42.1 / 23.5 ms; the campaign rollups add 11.5 ms (+19 %) on
    PostgreSQL, 18.9 ms (+47 %) on SQLite (reading back 3 rows per copy)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy import Select, func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tracker.app import make_app  # noqa: E402
from tracker.dashboard import DashboardSettings  # noqa: E402
from tracker.dashboard.auth import (  # noqa: E402
    SESSION_COOKIE,
    Admins,
    ApiTokens,
    LoginThrottle,
    Sessions,
)
from tracker.dashboard.reads import events_page_query  # noqa: E402
from tracker.dashboard.views import BREAKDOWNS  # noqa: E402
from tracker.events import HitReader, LocalEvents  # noqa: E402
from tracker.store import EventRecord, Store, queries, rollup  # noqa: E402
from tracker.store.bulk import BulkInsert  # noqa: E402
from tracker.store.models import copies, copy_counts, copy_day_counts  # noqa: E402
from tracker.store.rollup_queries import copy_figures  # noqa: E402
from tracker.store.throttle import Throttle  # noqa: E402
from tracker.tokens import Keyring  # noqa: E402
from tracker.writer import EventWriter  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_BENCH = "postgresql://postgres@127.0.0.1:5432/sigrelay_bench"
CAMPAIGN = "spring"
START = datetime(2025, 3, 1, tzinfo=UTC)
KINDS = ("impression",) * 6 + ("open",) * 3 + ("click",)
PAGE_KEYS = [by for by in BREAKDOWNS if by != "day"]  # figures_per; by day runs two queries
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

        conn = await asyncpg.connect(PG_BENCH)
        await conn.execute("VACUUM ANALYZE")
        await conn.close()
    else:
        db = sqlite3.connect(url.removeprefix("sqlite+aiosqlite:///"))
        db.execute("ANALYZE")
        db.close()


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


async def _timed(action, repeat: int = 3) -> tuple[float, object]:
    """Median wall time of `action()` after one warm-up run (a live system's cache is warm)."""
    result = await action()
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        result = await action()
        samples.append(time.perf_counter() - began)
    return _median_ms(samples), result


async def measure(url: str) -> None:
    store = await Store.open(url)
    target = 1000 if store.dialect == "postgresql" else 3000
    try:
        print(f"  `sigrelay stats --json --campaign {CAMPAIGN} [--by ...]` (Store.stats + JSON):")
        for by in (None, *BREAKDOWNS):

            async def stats_json(by=by) -> str:
                return json.dumps(await store.stats(by=by, campaign=CAMPAIGN), default=str)

            took, text = await _timed(stats_json)
            totals = json.loads(text)["totals"]
            print(
                f"    --by {by or '(none)':<8} {took:8.1f} ms  {_verdict(took, target)}  "
                f"sent={totals['sent']} impressions={totals['impressions']} "
                f"clicks={totals['clicks']} visits={totals['visits']} ctr={totals['ctr']:.3f}"
            )
        took, size = await _timed(lambda: campaign_page(store))
        print(
            f"  campaign page GET /admin/campaigns/{CAMPAIGN} (the tracker's app, loopback HTTP): "
            f"{took:.1f} ms  {_verdict(took, target)}  ({size / 1024:.0f} KB of HTML)"
        )
        await baseline(store)
        await write_cost(store)
        await explain(store)
    finally:
        await store.close()


def _verdict(took_ms: float, target_ms: float) -> str:
    return f"(target < {target_ms / 1000:.0f} s: {'met' if took_ms < target_ms else 'NOT met'})"


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


def _per_copy_figures(by: str) -> Select:
    """The former reads (before the campaign rollups): every copy's rollup row."""
    per_copy = copy_day_counts if by == "day" else copy_counts
    key = copy_day_counts.c.day if by == "day" else copies.c[by]
    joined = per_copy.join(copies, copies.c.copy_id == per_copy.c.copy_id)
    query = select(key, *copy_figures(per_copy)).select_from(joined)
    return query.where(copies.c.campaign == CAMPAIGN).group_by(key)


async def baseline(store: Store) -> None:
    """The same figures from the per-copy rollups, as stats read them before, in this run."""
    for by in ("variant", "day"):

        async def run(by=by) -> None:
            async with store.engine.connect() as conn:
                (await conn.execute(_per_copy_figures(by))).all()

        took, _ = await _timed(run, repeat=1)
        new, _ = await _timed(lambda by=by: store.stats(by=by, campaign=CAMPAIGN), repeat=1)
        print(
            f"  baseline: by {by} from the per-copy rollup {took:8.1f} ms; "
            f"stats by {by} now {new:.1f} ms ({took / new:.1f}x faster)"
        )


def _batch(rng: random.Random, size: int, copies_count: int) -> list[EventRecord]:
    """A writer's batch: events of one day on random copies of the campaign."""
    campaign_copies = range(0, copies_count, 4)
    day = START + timedelta(days=200)
    return [
        EventRecord(
            f"{campaign_copies[rng.randrange(len(campaign_copies))]:016x}",
            rng.choice(KINDS),
            day + timedelta(seconds=i),
            rng.choice(VERDICTS),
        )
        for i in range(size)
    ]


async def write_cost(store: Store, batches: int = 20, size: int = 1000) -> None:
    """What the campaign rollups add to the writer per batch of events: the
    rollup as it is against the per-copy upserts alone, as they were before
    (executemany through BulkInsert), in the writer's transaction, rolled back
    (the loaded data stay as they are). Each batch runs twice, the second timed."""
    rng = random.Random(3)
    insert_events = BulkInsert(queries.insert_events(), ("copy_id", "kind", "at", "verdict"))
    before = [rollup._upserts(table, rollup.COUNTERS) for table in (copy_counts, copy_day_counts)]
    steps = ("events insert", "per-copy rollups before", "whole rollup now")
    spent: dict[str, list[float]] = {step: [] for step in steps}
    copies_count = await _copies_count(store)
    async with store.engine.connect() as conn:
        dialect = conn.dialect.name
        for records in [_batch(rng, size, copies_count) for _ in range(batches)] * 2:
            rows = [(r.copy_id, r.kind, r.at, r.verdict) for r in records]
            for step in steps:
                transaction = await conn.begin()
                began = time.perf_counter()
                if step == "events insert":
                    await insert_events.execute(conn, rows)
                elif step == "per-copy rollups before":
                    await before[0][dialect].execute(
                        conn, rollup._rows(rollup.increments(records, per_day=False))
                    )
                    await before[1][dialect].execute(
                        conn, rollup._rows(rollup.increments(records, per_day=True))
                    )
                else:
                    await rollup.add_events(conn, records)
                spent[step].append(time.perf_counter() - began)
                await transaction.rollback()
    took = {step: _median_ms(samples[batches:]) for step, samples in spent.items()}
    added = took["whole rollup now"] - took["per-copy rollups before"]
    base = took["events insert"] + took["per-copy rollups before"]
    print(
        f"  write side, per batch of {size} events (median of {batches}): "
        + ", ".join(f"{step} {ms:.1f} ms" for step, ms in took.items())
        + f"; the campaign rollups add {added:.1f} ms = {added / base:+.0%} on the events "
        "insert and per-copy rollups"
    )


async def _copies_count(store: Store) -> int:
    async with store.engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(copies))).scalar_one()


async def explain(store: Store) -> None:
    """The plan of every query the campaign page runs (stats --json runs the same)."""
    prefix = "EXPLAIN ANALYZE " if store.dialect == "postgresql" else "EXPLAIN QUERY PLAN "
    statements = {
        "totals (figures_per None)": rollup.figures_per(None, CAMPAIGN),
        **{
            f"by {by} (figures_per)": rollup.figures_per(by, CAMPAIGN)
            for by in BREAKDOWNS
            if by != "day"
        },
        "by day: sent (sent_per)": queries.sent_per("day", CAMPAIGN, store.dialect),
        "by day: events (counts_per)": rollup.counts_per("day", CAMPAIGN),
        "latest events (events_page)": events_page_query(None, 50, CAMPAIGN),
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
        "--reuse",
        action="store_true",
        help="measure the loaded sigrelay_bench (and --sqlite-file) again, upgraded first",
    )
    parser.add_argument(
        "--sqlite-file", type=Path, default=None, help="keep the SQLite database here (for --reuse)"
    )
    args = parser.parse_args()
    per_campaign = len(range(0, args.copies, 4))
    print(f"{args.events} events on {per_campaign} copies of campaign {CAMPAIGN!r}")
    if args.backend in ("postgresql", "both") and args.reuse:
        url = PG_BENCH.replace("postgresql://", "postgresql+asyncpg://")
        print(f"postgresql: schema upgraded and analysed in {asyncio.run(upgrade(url)):.1f} s")
        asyncio.run(measure(url))
    elif args.backend in ("postgresql", "both"):
        began = time.perf_counter()
        url = asyncio.run(load_postgresql(args.events, args.copies))
        print(f"postgresql: loaded in {time.perf_counter() - began:.0f} s", end="; ")
        print(f"rollup built in {asyncio.run(build_rollup(url)):.1f} s")
        asyncio.run(measure(url))
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            path = args.sqlite_file or Path(tmp) / "bench.db"
            if args.reuse and path.exists():
                url = f"sqlite+aiosqlite:///{path}"
                print(f"sqlite: schema upgraded and analysed in {asyncio.run(upgrade(url)):.1f} s")
            else:
                path.unlink(missing_ok=True)
                began = time.perf_counter()
                url = load_sqlite(path, args.events, args.copies)
                print(f"sqlite: loaded in {time.perf_counter() - began:.0f} s", end="; ")
                print(f"rollup built in {asyncio.run(build_rollup(url)):.1f} s")
            asyncio.run(measure(url))


if __name__ == "__main__":
    main()
