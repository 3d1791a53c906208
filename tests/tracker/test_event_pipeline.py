"""The event pipeline's list of steps (tracker/events/pipeline.py) is the one
the code runs and the one the documentation shows."""

from __future__ import annotations

import re
from pathlib import Path

from tracker.events.pipeline import PIPELINE, READING
from tracker.events.reading import READ_STEPS

DOC = Path(__file__).resolve().parents[2] / "docs" / "events-pipeline.md"


def test_the_reading_steps_are_the_pipeline_s_first_and_run_in_its_order():
    reading = [(step.name, step.function) for step in PIPELINE if step.runs == READING]
    assert reading == list(READ_STEPS)
    assert [step.name for step in PIPELINE[: len(READ_STEPS)]] == [name for name, _ in READ_STEPS]


def test_the_documentation_lists_the_steps_in_the_pipeline_s_order():
    documented = re.findall(r"^\| \d \| ([a-z-]+):", DOC.read_text(), re.M)
    assert documented == [step.name for step in PIPELINE]
