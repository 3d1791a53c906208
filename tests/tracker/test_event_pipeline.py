"""The event pipeline's list of steps (tracker/events/pipeline.py) is the one
the code runs and the one the documentation shows."""

from __future__ import annotations

import re
from pathlib import Path

from tracker.events.pipeline import PIPELINE, READING
from tracker.events.reading import READ_STEPS

DOC = Path(__file__).resolve().parents[2] / "docs" / "internals.md"


def _section(title: str) -> str:
    text = DOC.read_text()
    start = text.index(title)
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def test_the_reading_steps_are_the_pipeline_s_first_and_run_in_its_order():
    reading = [(step.name, step.function) for step in PIPELINE if step.runs == READING]
    assert reading == list(READ_STEPS)
    assert [step.name for step in PIPELINE[: len(READ_STEPS)]] == [name for name, _ in READ_STEPS]


def test_the_documentation_lists_the_steps_in_the_pipeline_s_order():
    section = _section("## The event pipeline")
    documented = re.findall(r"^\| \d \| ([a-z-]+):", section, re.M)
    assert documented == [step.name for step in PIPELINE]


def test_the_documentation_names_the_rewriter_s_steps_in_its_order():
    from rewriter.rewrite import PIPELINE as REWRITER_PIPELINE

    section = _section("## The message pipeline")
    names = [step.name for step in REWRITER_PIPELINE]
    positions = [section.find(name) for name in names]
    assert -1 not in positions and positions == sorted(positions), names
