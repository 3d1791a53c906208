"""Machines and people on real User-Agents nobody here wrote.

usage: .venv/bin/python bench/classify.py [--misses] [--libraries]

Judges every agent of tests/data/useragents (isbot's crawlers and browsers,
matomo's bots and mail programs, yauaa's mail programs and Apple web views;
see its manifest and tests/data/SOURCES.md) with the tracker's shipped
classifier and prints the confusion matrix (label x verdict) and the two
goal figures of issue 16: >= 97% of machines caught, <= 0.5% of people's
agents called machines (prefetch or scanner; a proxy is a person's open).
--misses lists every wrong one; --libraries also scores ua-parser's Spider
family and crawlerdetect (if installed) alone, on the same data.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from agents_judge import Judged, figures, judge_all  # noqa: E402

from tracker.classify import Verdict  # noqa: E402

GOAL_CAUGHT = 0.97
GOAL_DISCARDED = 0.005


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
    per_file = Counter((j.file, j.wrong) for j in judged)
    for file in dict.fromkeys(j.file for j in judged):
        wrong, total = per_file[file, True], per_file[file, True] + per_file[file, False]
        print(f"    {file:28} wrong {wrong:4}/{total:<5}")


def _libraries() -> None:
    from ua_parser import parse_device

    def spider(agent: str) -> Verdict:
        device = parse_device(agent)
        return Verdict.SCANNER if device and device.family == "Spider" else Verdict.HUMAN

    _report("ua-parser alone (device family Spider)", judge_all(spider))
    try:
        from crawlerdetect import CrawlerDetect
    except ImportError:
        print("\ncrawlerdetect is not installed (pip install crawlerdetect to compare)")
        return
    detector = CrawlerDetect()
    _report(
        "crawlerdetect alone (isCrawler)",
        judge_all(lambda a: Verdict.SCANNER if detector.isCrawler(a) else Verdict.HUMAN),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="list every wrong verdict")
    parser.add_argument("--libraries", action="store_true", help="score the libraries alone")
    args = parser.parse_args()
    judged = judge_all()
    _report("the tracker's classifier (machines.toml, then tracker/agents.py)", judged)
    if args.libraries:
        _libraries()
    if args.misses:
        print("\nwrong:")
        for j in judged:
            if j.wrong:
                print(f"  {j.label:7} -> {j.verdict.value:8} {j.file}: {j.agent[:160]}")


if __name__ == "__main__":
    main()
