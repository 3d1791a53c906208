"""Signature placement on real replies and forwards from other projects' test suites
(tests/data/replies, see tests/data/SOURCES.md): the figures of issue 13 as a
regression test. bench/placement.py prints the same figures with every miss."""

from __future__ import annotations

from placement_judge import judge_all, shares

OVERALL = 0.95
PER_LANGUAGE = 0.80


def test_signature_placed_right_on_real_replies_overall_and_per_language():
    verdicts = judge_all()
    right = sum(verdict.right for verdict in verdicts)
    misses = [f"{v.sample.file}: {v.why}" for v in verdicts if not v.right]
    assert right / len(verdicts) >= OVERALL, "\n".join(misses)
    weak = {
        language: f"{r}/{total}"
        for language, (r, total) in shares(verdicts, lambda s: s.language).items()
        if r / total < PER_LANGUAGE
    }
    assert not weak, (weak, misses)
