"""Judge the real User-Agents of tests/data/useragents with the tracker's classifier.

Shared by bench/classify.py (prints the figures) and
tests/tracker/test_detector_world.py (asserts them). The classifier is the
shipped one (tracker/machines.toml, then tracker/agents.py), asked about a GET
of the pixel from an unlisted address: the agent alone decides.

Each set of the manifest belongs to a part: "world" and "tuning" (the rules
were written looking at them) or "unseen" (split off before any rule was
tuned, the honest figure). `relabels.toml` corrects a few of the sources'
labels, each with why; `Judged.source_label` keeps the source's own.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from tracker.classify import Classifier, Verdict, load_classifier

DATA = Path(__file__).resolve().parent / "data" / "useragents"
PARTS = ("world", "tuning", "unseen")
# What a prediction means for the figures: a proxy fetch is counted as a
# person's open (DESIGN.md), so it is "caught" as a machine among machines but
# does not take an event from a person among people; prefetch and scanner do.
DISCARDED = (Verdict.PREFETCH, Verdict.SCANNER)


@dataclass(frozen=True)
class Judged:
    agent: str
    file: str
    label: str  # machine | human: ours (the source's, unless relabels.toml corrects it)
    verdict: Verdict
    part: str = "world"
    source_label: str = ""  # the source's own label

    @property
    def wrong(self) -> bool:
        return _wrong(self.label, self.verdict)

    @property
    def wrong_by_source(self) -> bool:
        return _wrong(self.source_label or self.label, self.verdict)


def _wrong(label: str, verdict: Verdict) -> bool:
    if label == "machine":
        return verdict is Verdict.HUMAN
    return verdict in DISCARDED


def manifest() -> list[dict]:
    return tomllib.loads((DATA / "manifest.toml").read_text("utf-8"))["set"]


def relabels() -> dict[tuple[str, str], str]:
    """(file, agent) -> our label."""
    entries = tomllib.loads((DATA / "relabels.toml").read_text("utf-8"))["relabel"]
    return {(e["file"], e["agent"]): e["label"] for e in entries}


def agents(parts: Iterable[str] = PARTS) -> list[tuple[dict, str]]:
    """(manifest entry, agent) for every agent of the sets in `parts`."""
    return [
        (entry, agent)
        for entry in manifest()
        if entry["part"] in parts
        for agent in (DATA / entry["file"]).read_text("utf-8").splitlines()
    ]


def judge_all(
    is_machine: Callable[[str], Verdict] | None = None, parts: Iterable[str] = PARTS
) -> list[Judged]:
    """Every agent of every set in `parts`, judged by `is_machine` (default: the
    tracker's shipped classifier)."""
    judge = is_machine or shipped(load_classifier())
    ours = relabels()
    judged = []
    for entry, agent in agents(tuple(parts)):
        label = ours.get((entry["file"], agent), entry["label"])
        judged.append(
            Judged(agent, entry["file"], label, judge(agent), entry["part"], entry["label"])
        )
    return judged


def shipped(classifier: Classifier) -> Callable[[str], Verdict]:
    return lambda agent: classifier.verdict("GET", agent)


@dataclass(frozen=True)
class Figures:
    matrix: Counter  # (label, verdict) -> count
    machines: int
    humans: int
    caught: float  # machines not called human
    humans_discarded: float  # people's agents called prefetch or scanner


def figures(judged: list[Judged], by_source: bool = False) -> Figures:
    """The goal's two figures, by our labels or (`by_source`) by the sources' own."""

    def label(j: Judged) -> str:
        return (j.source_label or j.label) if by_source else j.label

    def wrong(j: Judged) -> bool:
        return j.wrong_by_source if by_source else j.wrong

    matrix = Counter((label(j), j.verdict) for j in judged)
    machines = sum(1 for j in judged if label(j) == "machine")
    humans = len(judged) - machines
    missed = sum(1 for j in judged if label(j) == "machine" and wrong(j))
    discarded = sum(1 for j in judged if label(j) == "human" and wrong(j))
    return Figures(matrix, machines, humans, 1 - missed / machines, discarded / humans)
