"""Memory of 40 parallel dashboard logins: argon2 costs 64 MiB a verification.

usage: .venv/bin/python bench/login_memory.py [--logins 40] [--concurrency 2]
       SIGRELAY_CHECKOUT=DIR ... --concurrency 0   (the code in DIR, e.g. `git archive main`)

Verifies `--logins` right passwords at once through `Admins.verify` (what
POST /admin/login runs) and prints this process's RSS before and its peak
during them (VmHWM, reset through /proc/self/clear_refs). `--concurrency 0`
leaves the verifications unbounded, as before issue 14 (then the default
thread pool, min(32, CPUs + 4) threads, is the only bound); with
SIGRELAY_CHECKOUT naming an older checkout, it measures that code.

Last measured (2 CPUs, so 6 pool threads; argon2-cffi defaults, 64 MiB each):
  main before issue 14:     RSS 82 MiB, peak 466 MiB, growth 384 MiB
  concurrency 2 (default):  RSS 82 MiB, peak 210 MiB, growth 128 MiB
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

# Not bench/ first: bench/tracker.py would hide the tracker package.
sys.path[0] = os.environ.get("SIGRELAY_CHECKOUT", str(Path(__file__).resolve().parent.parent))

from tracker.dashboard.auth import Admins, hash_password  # noqa: E402

MIB = 1024 * 1024
NAME, PASSWORD = "alice", "correct horse battery staple"


def _rss() -> tuple[int, int]:
    """(current RSS, peak RSS since the last reset) in bytes."""
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return int(status["VmRSS"].split()[0]) * 1024, int(status["VmHWM"].split()[0]) * 1024


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--logins", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=2, help="0: unbounded (the old code)")
    args = parser.parse_args()
    hashes = {NAME: hash_password(PASSWORD)}
    try:
        admins = Admins(hashes, args.concurrency or 10**6)
    except TypeError:  # the code before issue 14 has no bound to set
        admins = Admins(hashes)
    await admins.verify(NAME, PASSWORD)  # the thread pool and argon2 warmed up
    Path("/proc/self/clear_refs").write_text("5")
    before, _ = _rss()
    results = await asyncio.gather(*(admins.verify(NAME, PASSWORD) for _ in range(args.logins)))
    assert all(results)
    _, peak = _rss()
    bound = args.concurrency or "unbounded"
    print(
        f"{args.logins} parallel logins, concurrency {bound}: RSS {before / MIB:.0f} MiB, "
        f"peak {peak / MIB:.0f} MiB, growth {(peak - before) / MIB:.0f} MiB"
    )


if __name__ == "__main__":
    asyncio.run(main())
