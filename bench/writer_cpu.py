"""The event writer's CPU per event: `Store.record_events` alone, no HTTP.

usage: flock /tmp/cpu.lock .venv/bin/python bench/writer_cpu.py
           [--kind open|click] [--batch 1000] [--batches 40]
           [--backend sqlite|postgresql] [--timing] [--withdrawal N]

10,000 copies' sent facts are recorded first; then 5 warm-up batches and
`--batches` timed batches of `--batch` random events (clicks on one of three
links). CPU is `time.process_time()`, every thread of the process (aiosqlite
runs SQLite in a thread of its own; PostgreSQL's own CPU is not counted).
`--timing`: the production timing rules (scanner clicks and bursts).
`--withdrawal N`: retroactive withdrawal on, as the tracker runs it
(tracker/store/withdrawal.py), with N of the recipients opted out (half
"anonymous", half "untracked"); 0: on, with nobody opted out.
PostgreSQL: database `sigrelay_writer_bench` on 127.0.0.1:5432, made afresh.
Figures and what they showed: bench/writer_cpu.md.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tracker.recipients import recipient_key  # noqa: E402
from tracker.store import CopyRecord, EventRecord, Store  # noqa: E402
from tracker.store.optout import opt_out  # noqa: E402
from tracker.store.timing import TimingRules  # noqa: E402
from tracker.store.withdrawal import Withdrawal  # noqa: E402
from tracker.tokens import new_copy_id  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DATABASE = "sigrelay_writer_bench"
COPIES = 10_000
PSEUDONYM_KEY = b"writer-bench-pseudonym-key-0001!"


async def store_url(backend: str) -> str:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp()) / 'store.db'}"
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE}")
        await admin.execute(f"CREATE DATABASE {PG_DATABASE}")
    finally:
        await admin.close()
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_DATABASE}"


def sent_facts(copies: list[str]) -> list[CopyRecord]:
    sent = datetime.now(UTC) - timedelta(days=1)
    return [
        CopyRecord(copy_id, f"q{i}", sent, "anna@example.com", "sales", "personal", "spring",
                   "A" if i % 2 else "B", f"r{i}@customer.test", "customer.test")
        for i, copy_id in enumerate(copies)
    ]  # fmt: skip


def batch(copies: list[str], kind: str, size: int) -> list[EventRecord]:
    now = datetime.now(UTC)
    return [
        EventRecord(
            random.choice(copies),
            kind,
            now + timedelta(microseconds=random.randrange(1_000_000)),
            "human",
            f"https://shop.example/{random.randrange(3)}" if kind == "click" else None,
        )
        for _ in range(size)
    ]


async def main(args: argparse.Namespace) -> None:
    store = await Store.open(
        await store_url(args.backend),
        timing=TimingRules.of_seconds(10.0, 1.0) if args.timing else None,
        withdrawal=Withdrawal(PSEUDONYM_KEY) if args.withdrawal is not None else None,
    )
    await store.upgrade()
    copies = [new_copy_id() for _ in range(COPIES)]
    await store.record_copies(sent_facts(copies))
    if args.withdrawal is not None:
        long_ago = datetime.now(UTC) - timedelta(days=1)
        for i in range(args.withdrawal):
            choice = "anonymous" if i % 2 else "untracked"
            await opt_out(
                store, recipient_key(f"r{i}@customer.test", PSEUDONYM_KEY), choice, long_ago
            )
    for _ in range(5):
        await store.record_events(batch(copies, args.kind, args.batch))
    timed = [batch(copies, args.kind, args.batch) for _ in range(args.batches)]
    gc.freeze()  # as the writer process does after start-up
    started = time.process_time()
    for events in timed:
        await store.record_events(events)
    per_event = (time.process_time() - started) / (args.batches * args.batch) * 1e6
    await store.close()
    timing = " + timing rules" if args.timing else ""
    if args.withdrawal is not None:
        timing += f" + withdrawal ({args.withdrawal} opted out)"
    print(f"{args.kind}{timing}, batch {args.batch}, {args.backend}: {per_event:.1f} us/event CPU")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=("open", "click"), default="open")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--timing", action="store_true")
    parser.add_argument("--withdrawal", type=int, default=None, metavar="N")
    asyncio.run(main(parser.parse_args()))
