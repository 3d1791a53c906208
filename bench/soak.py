"""Soak: a real `sigrelay serve` (relay + tracker, one process) at a steady mail
and event rate for a long time, watched from outside (issue 14).

usage:
    .venv/bin/python bench/soak.py [--minutes 30] [--mails-per-second 10]
                                   [--warm-up 0.2] [--sample 10]

One message a tick from SALES (group sales, personal mode) to one recipient,
through a real SMTP session; the copy arrives at an aiosmtpd sink in this
process; once its message has left the relay's spool (its "sent" fact is
stored, proxy/finishing.py) the recipient "opens" it: one GET of its pixel. At
the end the load stops, the spool must drain, and `sigrelay stats` must count
exactly the opens fetched and the copies sent.

Figures, sampled every --sample seconds from /proc: the process's RSS and
open file descriptors, the spool's queue files. Passed when, after the warm-up
(the first --warm-up fraction of the run), RSS grows < 10%, the fd count stays
within a few of its warm-up value, the spool drains, and the counts are exact.
Results are in docs/reliability.md ("Soak").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import aiosmtplib

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from exampleflow import SALES_SENDER, html_message  # noqa: E402
from mailparts import body_text, tokens  # noqa: E402
from peers import free_port  # noqa: E402
from serveprocess import ServeProcess  # noqa: E402
from smtpsink import SmtpSink  # noqa: E402

FD_SLACK = 8  # pooled upstream connections and store connections come and go


@dataclass
class Sample:
    at: float
    rss_kb: int
    fds: int
    spooled: int
    acked: int
    delivered: int
    opens: int


@dataclass
class Load:
    acked: int = 0
    refused: int = 0
    opened: int = 0
    pending_opens: list[tuple[str, str]] = field(default_factory=list)  # (queue id, pixel)
    samples: list[Sample] = field(default_factory=list)


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _spooled(data_dir: Path) -> set[str]:
    names = set()
    for sub in ("incoming", "deferred"):
        folder = data_dir / "spool" / sub
        if folder.is_dir():
            names.update(os.listdir(folder))
    return names


async def _send(port: int, number: int, load: Load) -> None:
    rcpt = f"soak{number}@customer.test"
    try:
        await aiosmtplib.send(
            html_message(SALES_SENDER, [rcpt]),
            sender=SALES_SENDER, recipients=[rcpt], hostname="127.0.0.1", port=port, timeout=30,
        )  # fmt: skip
        load.acked += 1
    except (aiosmtplib.SMTPException, OSError):
        load.refused += 1


def _arrived(sink: SmtpSink, seen: int, load: Load) -> int:
    """Note the pixel of every copy that arrived since `seen`; the new count."""
    for received in sink.handler.received[seen:]:
        queue_id = received.data.split(b"with ESMTP id ", 1)[1][:19].decode()
        (pixel,) = tokens(body_text(received.data, "html"), "o")
        load.pending_opens.append((queue_id, pixel))
    return len(sink.handler.received)


async def _open_due(http: aiohttp.ClientSession, public_url: str, data_dir: Path, load: Load):
    """Fetch the pixel of every copy whose message has left the spool."""
    spooled = _spooled(data_dir)
    due = [(q, p) for q, p in load.pending_opens if q not in spooled]
    load.pending_opens = [(q, p) for q, p in load.pending_opens if q in spooled]
    for _, pixel in due:
        async with http.get(f"{public_url}/o/{pixel}") as response:
            await response.read()
            if response.status == 200:
                load.opened += 1


async def _stats(env: dict[str, str]) -> dict:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sigrelay", "stats", "--json",
        env={**os.environ, **env}, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await proc.communicate()
    return json.loads(out)["totals"]


async def soak(minutes: float, rate: float, warm_up: float, every: float) -> int:
    work = Path(tempfile.mkdtemp(prefix="sigrelay-soak-"))
    shutil.copytree(ROOT / "config" / "example", work / "config")
    sink = SmtpSink()
    await sink.start()
    tracker_port, relay_port = free_port(), free_port()
    public_url = f"http://127.0.0.1:{tracker_port}"
    env = {
        "SIGRELAY_CONFIG": str(work / "config"),
        "SIGRELAY_DATA": str(work / "data"),
        "SIGRELAY_RELAY__LISTEN": f"127.0.0.1:{relay_port}",
        "SIGRELAY_TRACKER__LISTEN": f"127.0.0.1:{tracker_port}",
        "SIGRELAY_TRACKER__PUBLIC_URL": public_url,
        "SIGRELAY_UPSTREAM__URL": sink.url,
        "SIGRELAY_TRACKER__SCANNER_CLICK_SECONDS": "0",
    }
    serve = ServeProcess(env)
    await serve.start()
    assert serve.proc is not None
    pid, data_dir, load = serve.proc.pid, work / "data", Load()
    seen = 0
    loop = asyncio.get_running_loop()
    start = loop.time()
    end = start + minutes * 60
    next_sample = start
    sends: set[asyncio.Task] = set()
    print(f"soak: {minutes} min at {rate} mails/s, pid {pid}, data {data_dir}", flush=True)
    print("   t/s   rss/MB  fds  spool  acked  delivered  opens", flush=True)
    async with aiohttp.ClientSession() as http:
        number = 0
        while (now := loop.time()) < end:
            task = asyncio.create_task(_send(relay_port, number, load))
            sends.add(task)
            task.add_done_callback(sends.discard)
            number += 1
            seen = _arrived(sink, seen, load)
            await _open_due(http, public_url, data_dir, load)
            if now >= next_sample:
                next_sample += every
                load.samples.append(
                    Sample(now - start, _rss_kb(pid), len(os.listdir(f"/proc/{pid}/fd")),
                           len(_spooled(data_dir)), load.acked, seen, load.opened)
                )  # fmt: skip
                s = load.samples[-1]
                print(f"{s.at:6.0f} {s.rss_kb / 1024:8.1f} {s.fds:4d} {s.spooled:6d} "
                      f"{s.acked:6d} {s.delivered:10d} {s.opens:6d}", flush=True)  # fmt: skip
            await asyncio.sleep(max(0.0, start + number / rate - loop.time()))  # the rate
        await asyncio.gather(*sends)
        drain_deadline = loop.time() + 120
        while (seen < load.acked or load.pending_opens) and (loop.time() < drain_deadline):
            seen = _arrived(sink, seen, load)
            await _open_due(http, public_url, data_dir, load)
            await asyncio.sleep(0.2)
    drained = not _spooled(data_dir)
    # Events are written in batches: the stop (SIGTERM) flushes them (DESIGN.md).
    code = await serve.stop()
    await sink.stop()
    totals = await _stats(env)
    return _report(load, minutes, warm_up, drained, code, totals, len(sink.handler.received))


def _report(load: Load, minutes, warm_up, drained, code, totals, delivered) -> int:
    after = [s for s in load.samples if s.at >= minutes * 60 * warm_up]
    base, last = after[0], after[-1]
    growth = (last.rss_kb - base.rss_kb) / base.rss_kb * 100
    peak = max(s.rss_kb for s in after)
    fds = [s.fds for s in after]
    checks = {
        "rss growth after warm-up < 10%": growth < 10,
        f"fds flat (within {FD_SLACK})": max(fds) - min(fds) <= FD_SLACK,
        "spool drained": drained,
        "every acknowledged mail delivered once": delivered == load.acked,
        "every delivered copy opened once": load.opened == delivered,
        "stats: sent == delivered": totals["sent"] == delivered,
        "stats: opens == opens fetched": totals["opens"] == load.opened,
        "clean stop (exit 0)": code == 0,
    }
    print(f"\nduration {minutes} min; mails acked {load.acked}, refused {load.refused}, "
          f"delivered {delivered}; opens fetched {load.opened}")  # fmt: skip
    print(f"rss after warm-up {base.rss_kb / 1024:.1f} MB -> end {last.rss_kb / 1024:.1f} MB "
          f"({growth:+.1f}%), peak {peak / 1024:.1f} MB")  # fmt: skip
    print(f"fds after warm-up {min(fds)}..{max(fds)}; stats sent {totals['sent']} "
          f"opens {totals['opens']}")  # fmt: skip
    for name, ok in checks.items():
        print(f"  {'ok  ' if ok else 'FAIL'} {name}")
    return 0 if all(checks.values()) else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--mails-per-second", type=float, default=10.0)
    parser.add_argument("--warm-up", type=float, default=0.2, help="fraction of the run")
    parser.add_argument("--sample", type=float, default=10.0, help="seconds between samples")
    args = parser.parse_args()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    started = time.time()
    code = asyncio.run(soak(args.minutes, args.mails_per_second, args.warm_up, args.sample))
    print(f"wall time {time.time() - started:.0f} s")
    raise SystemExit(code)


if __name__ == "__main__":
    main()
