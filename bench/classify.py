"""Machines and people on real User-Agents nobody here wrote.

usage: .venv/bin/python bench/classify.py [--misses] [--part PART] [--libraries]

Judges every agent of tests/data/useragents (isbot's crawlers and browsers,
matomo's bots and mail programs, yauaa's mail programs and Apple web views,
crawlerdetect's crawlers and devices; see its manifest and
tests/data/SOURCES.md) with the tracker's shipped classifier and prints, for
each part of the data, the confusion matrix (label x verdict) and the two goal
figures of issue 16: >= 97% of machines caught, <= 0.5% of people's agents
called machines (prefetch or scanner; a proxy is a person's open). Parts:
"world" and "tuning" (the rules were written looking at them), "unseen" (split
off before any tuning: the honest figure). Also the classifier's throughput on
distinct agents (no cache hits). --misses lists every wrong one (of --part
only, if given); --libraries also scores ua-parser's Spider family and
crawlerdetect (if installed) alone, on the same data (the classifier uses
neither: tracker/agents.py says why).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from agents_judge import PARTS, Judged, agents, figures, judge_all  # noqa: E402

from tracker.classify import Verdict, load_classifier  # noqa: E402

GOAL_CAUGHT = 0.97
GOAL_DISCARDED = 0.005
THROUGHPUT_ROUNDS = 5


def _report(title: str, judged: list[Judged]) -> None:
    result = figures(judged)
    verdicts = list(Verdict)
    print(f"\n{title}")
    print("  " + "label / verdict".ljust(16) + "".join(f"{v.value:>10}" for v in verdicts))
    for label in ("machine", "human"):
        cells = "".join(f"{result.matrix[label, v]:10}" for v in verdicts)
        print(f"  {label:16}{cells}")
    print(
        f"  machines caught:              {result.caught:7.2%} of {result.machines}"
        f"   (goal >= {GOAL_CAUGHT:.0%})"
    )
    print(
        f"  people's agents as machines:  {result.humans_discarded:7.2%} of {result.humans}"
        f"   (goal <= {GOAL_DISCARDED:.1%})"
    )
    if any(j.label != j.source_label for j in judged):
        source = figures(judged, by_source=True)
        print(
            f"  by the sources' own labels:   {source.caught:7.2%} caught,"
            f" {source.humans_discarded:.2%} of people's agents as machines"
            " (tests/data/useragents/relabels.toml says which differ and why)"
        )
    per_file = Counter((j.file, j.wrong) for j in judged)
    for file in dict.fromkeys(j.file for j in judged):
        wrong, total = per_file[file, True], per_file[file, True] + per_file[file, False]
        print(f"    {file:38} wrong {wrong:4}/{total:<5}")


def _throughput() -> None:
    """Agents judged per second, each agent once per fresh classifier (its
    per-agent cache never hits): the cost of an agent never seen before."""
    distinct = list(dict.fromkeys(agent for _, agent in agents()))
    best = 0.0
    for _ in range(THROUGHPUT_ROUNDS):
        classifier = load_classifier()
        started = time.perf_counter()
        for agent in distinct:
            classifier.judge("GET", agent)
        best = max(best, len(distinct) / (time.perf_counter() - started))
    print(f"\nthroughput: {best:,.0f} agents/s (distinct agents, best of {THROUGHPUT_ROUNDS})")


def _libraries(judged_parts: list[str]) -> None:
    try:
        from ua_parser import parse_device
    except ImportError:
        print("\nua-parser is not installed (pip install 'ua-parser[regex]' to compare)")
    else:

        def spider(agent: str) -> Verdict:
            device = parse_device(agent)
            return Verdict.SCANNER if device and device.family == "Spider" else Verdict.HUMAN

        _report("ua-parser alone (device family Spider)", judge_all(spider, judged_parts))
    try:
        from crawlerdetect import CrawlerDetect
    except ImportError:
        print("\ncrawlerdetect is not installed (pip install crawlerdetect to compare)")
        return
    detector = CrawlerDetect()

    def crawler(agent: str) -> Verdict:
        return Verdict.SCANNER if detector.isCrawler(agent) else Verdict.HUMAN

    _report("crawlerdetect alone (isCrawler)", judge_all(crawler, judged_parts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="list every wrong verdict")
    parser.add_argument("--part", choices=PARTS, help="only this part of the data")
    parser.add_argument("--libraries", action="store_true", help="score the libraries alone")
    args = parser.parse_args()
    parts = [args.part] if args.part else list(PARTS)
    judged = judge_all(parts=parts)
    print("the tracker's classifier (machines.toml, then tracker/agents.py)")
    for part in parts:
        _report(f"part {part!r}", [j for j in judged if j.part == part])
    if len(parts) > 1:
        _report("all parts", judged)
    _throughput()
    if args.libraries:
        _libraries(parts)
    if args.misses:
        print("\nwrong:")
        for j in judged:
            if j.wrong:
                print(f"  {j.label:7} -> {j.verdict.value:8} {j.file}: {j.agent[:160]}")


if __name__ == "__main__":
    main()
