"""The event writer's CPU per click when copies have a long history.

usage: flock /tmp/cpu.lock .venv/bin/python bench/writer_history.py

200 copies with 500 past clicks each (10 days ago), then 20 batches of 1000
clicks now, with the production timing rules (scanner bursts look for a
copy's clicks within a second). Measured 2026-11-24 on SQLite: 96.0 us/event
with events indexed by copy_id (the rules read every past click of the batch's
copies), 63.4 us/event with (copy_id, at) (migration 0008: only the window).
"""

import asyncio
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tracker.store import CopyRecord, EventRecord, Store  # noqa: E402
from tracker.store.timing import TimingRules  # noqa: E402
from tracker.tokens import new_copy_id  # noqa: E402

PAST_BATCHES = 100  # of 1000 clicks: 500 per copy


def _click(copy_id: str, at: datetime, target: str) -> EventRecord:
    return EventRecord(copy_id, "click", at, "human", target)


async def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="sigrelay-bench-"))
    store = await Store.open(
        f"sqlite+aiosqlite:///{work / 'store.db'}", timing=TimingRules.of_seconds(10, 1)
    )
    await store.upgrade()
    copies = [new_copy_id() for _ in range(200)]
    sent = datetime.now(UTC) - timedelta(days=30)
    await store.record_copies(
        [
            CopyRecord(c, f"q{i}", sent, "a@example.com", "sales", "personal", "spring", "A",
                       f"r{i}@c.test", "c.test")
            for i, c in enumerate(copies)
        ]
    )  # fmt: skip
    old = datetime.now(UTC) - timedelta(days=10)
    for k in range(PAST_BATCHES):
        at = old + timedelta(minutes=k)
        batch = [_click(random.choice(copies), at, f"https://x/{j % 3}") for j in range(1000)]
        await store.record_events(batch)
    started = time.process_time()
    for _ in range(20):
        now = datetime.now(UTC)
        await store.record_events(
            [_click(random.choice(copies), now, "https://x/1") for _ in range(1000)]
        )
    per_event = (time.process_time() - started) / 20_000 * 1e6
    print(f"{per_event:.1f} us/event with 500 past clicks per copy")
    await store.close()


asyncio.run(main())
