"""Signature placement on real replies and forwards from other projects' test suites
(tests/data/replies and tests/data/replies-unseen, see tests/data/SOURCES.md): the
figures of issue 13 as a regression test, on each set alone. bench/placement.py
prints the same figures with every miss."""

from __future__ import annotations

import pytest
from placement_judge import SETS, judge_all, shares

OVERALL = 0.95
PER_LANGUAGE = 0.80


@pytest.mark.parametrize("set_name", SETS)
def test_signature_placed_right_on_real_replies_overall_and_per_language(set_name: str):
    verdicts = judge_all(set_name=set_name)
    right = sum(verdict.right for verdict in verdicts)
    misses = [f"{v.sample.file}: {v.why}" for v in verdicts if not v.right]
    assert right / len(verdicts) >= OVERALL, "\n".join(misses)
    weak = {
        language: f"{r}/{total}"
        for language, (r, total) in shares(verdicts, lambda s: s.language).items()
        if r / total < PER_LANGUAGE
    }
    assert not weak, (weak, misses)
