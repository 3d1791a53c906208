"""Signature placement on real replies and forwards from other projects' test suites.

usage: .venv/bin/python bench/placement.py [--set replies|replies-unseen] [--misses]

Wraps each sample of tests/data/replies and tests/data/replies-unseen (see their
manifests and tests/data/SOURCES.md) into a message, rewrites it with a signature, and
prints the share placed right per set: overall, per language, per format and per source;
with --misses, every miss and why. "replies" is the set the patterns were tuned on;
"replies-unseen" comes from other sources and is the honest figure for unseen mail.
Goal (issue 13): >= 95% overall, no language below 80%, on each set.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from placement_judge import SETS, judge_all, shares  # noqa: E402


def _print(title: str, table: dict[str, tuple[int, int]]) -> None:
    print(f"\n{title}")
    for name, (right, total) in table.items():
        print(f"  {name:34} {right:4}/{total:<4} {100 * right / total:5.1f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="list every miss")
    parser.add_argument("--set", choices=SETS, help="only this set (default: both)")
    args = parser.parse_args()
    for set_name in [args.set] if args.set else SETS:
        _report(set_name, args.misses)


def _report(set_name: str, list_misses: bool) -> None:
    verdicts = judge_all(set_name=set_name)
    right = sum(v.right for v in verdicts)
    print(f"\n=== {set_name}")
    print(f"placed right: {right}/{len(verdicts)} = {100 * right / len(verdicts):.1f}%")
    _print("per language", shares(verdicts, lambda s: s.language))
    _print("per format", shares(verdicts, lambda s: s.format))
    _print("per source", shares(verdicts, lambda s: s.source))
    misses = [v for v in verdicts if not v.right]
    print(f"\nmisses: {len(misses)}" + ("" if list_misses else " (--misses lists them)"))
    if list_misses:
        for verdict in misses:
            sample = verdict.sample
            print(f"  {sample.file} [{sample.language}]: {verdict.why}")
            print(f"      quote: {sample.quote_first_line[:90]}")


if __name__ == "__main__":
    main()
