"""Fuzz rewriter.rewrite: for any bytes and any of our plans it returns a copy and never raises.

A FAILED outcome (fail open, DESIGN.md "Rewriting rules") is allowed, as the
contract says, but each new reason is written to $SIGRELAY_FUZZ_NOTES so a
by-hand run reports which inputs the rewriter gives up on.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[2]), str(HERE.parents[1] / "rewriter"), str(HERE)]

import atheris  # noqa: E402
from fuzzing import instrumented, mail_seeds, main  # noqa: E402

with atheris.instrument_imports(include=instrumented("rewriter")):
    from rewriter import LinkMode, Outcome, Rewritten
    from rewriter.rewrite import rewrite

from rewriter_plans import make_plan  # noqa: E402

PLANS = (
    make_plan(),
    make_plan(link_mode=LinkMode.ALL),
    make_plan(banner=None, pixel_url=None, link_mode=LinkMode.NONE),
)
NOTES = os.environ.get("SIGRELAY_FUZZ_NOTES")
_seen: set[str] = set()


def check(data: bytes) -> None:
    plan = PLANS[len(data) % len(PLANS)]  # the same input always meets the same plan
    result = rewrite(data, plan)
    assert isinstance(result, Rewritten) and isinstance(result.message, bytes)
    if result.outcome is not Outcome.REWRITTEN:
        assert result.message == data, "skipped or failed: the original goes out unchanged"
    if result.outcome is Outcome.FAILED and NOTES:
        kind = (result.reason or "").split(":", 1)[0]
        if kind not in _seen:
            _seen.add(kind)
            with open(NOTES, "a") as notes:
                notes.write(f"rewriter failed open: {result.reason[:200]!r}\n")


if __name__ == "__main__":
    main(check, mail_seeds)
