"""Judge the real User-Agents of tests/data/useragents with the tracker's classifier.

Shared by bench/classify.py (prints the figures) and
tests/tracker/test_detector_world.py (asserts them). The classifier is the
shipped one (tracker/machines.toml, then tracker/agents.py), asked about a GET
of the pixel from an unlisted address: the agent alone decides.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tracker.classify import Classifier, Verdict, load_classifier

DATA = Path(__file__).resolve().parent / "data" / "useragents"
# What a prediction means for the figures: a proxy fetch is counted as a
# person's open (DESIGN.md), so it is "caught" as a machine among machines but
# does not take an event from a person among people; prefetch and scanner do.
DISCARDED = (Verdict.PREFETCH, Verdict.SCANNER)


@dataclass(frozen=True)
class Judged:
    agent: str
    file: str
    label: str  # machine | human
    verdict: Verdict

    @property
    def wrong(self) -> bool:
        if self.label == "machine":
            return self.verdict is Verdict.HUMAN
        return self.verdict in DISCARDED


def manifest() -> list[dict]:
    return tomllib.loads((DATA / "manifest.toml").read_text("utf-8"))["set"]


def judge_all(is_machine: Callable[[str], Verdict] | None = None) -> list[Judged]:
    """Every agent of every set, judged by `is_machine` (default: the tracker's
    shipped classifier)."""
    judge = is_machine or _shipped(load_classifier())
    judged = []
    for entry in manifest():
        for agent in (DATA / entry["file"]).read_text("utf-8").splitlines():
            judged.append(Judged(agent, entry["file"], entry["label"], judge(agent)))
    return judged


def _shipped(classifier: Classifier) -> Callable[[str], Verdict]:
    return lambda agent: classifier.verdict("GET", agent)


@dataclass(frozen=True)
class Figures:
    matrix: Counter  # (label, verdict) -> count
    machines: int
    humans: int
    caught: float  # machines not called human
    humans_discarded: float  # people's agents called prefetch or scanner


def figures(judged: list[Judged]) -> Figures:
    matrix = Counter((j.label, j.verdict) for j in judged)
    machines = sum(1 for j in judged if j.label == "machine")
    humans = len(judged) - machines
    missed = sum(1 for j in judged if j.label == "machine" and j.wrong)
    discarded = sum(1 for j in judged if j.label == "human" and j.wrong)
    return Figures(matrix, machines, humans, 1 - missed / machines, discarded / humans)
