"""A/B verdicts: Wilson intervals and a two-proportion z-test, against known values."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from tracker.store import CopyRecord, EventRecord
from tracker.store.abtest import (
    NOT_SIGNIFICANT,
    ab_result,
    ab_test,
    two_proportion_p_value,
    wilson,
)


def test_wilson_interval_matches_the_textbook_value():
    # 10 of 100: Wilson 95 % is [0.0552, 0.1744] (Newcombe 1998, method 3).
    low, high = wilson(10, 100)
    assert (round(low, 4), round(high, 4)) == (0.0552, 0.1744)


def test_wilson_interval_of_zero_successes_starts_at_zero_and_is_not_empty():
    low, high = wilson(0, 20)
    assert low == 0.0 and 0.1 < high < 0.2


def test_p_value_of_equal_rates_is_one_and_of_far_apart_rates_is_tiny():
    assert math.isclose(two_proportion_p_value(50, 1000, 50, 1000), 1.0)
    assert two_proportion_p_value(100, 1000, 50, 1000) < 0.001


def _rows(a: tuple[int, int], b: tuple[int, int]) -> list[dict]:
    return [
        {"variant": "a", "unique_impressions": a[0], "unique_clicks": a[1]},
        {"variant": "b", "unique_impressions": b[0], "unique_clicks": b[1]},
    ]


def test_clear_difference_names_the_winner_at_95_percent():
    result = ab_result("spring", _rows((1000, 50), (1000, 100)))
    assert result["verdict"] == "b beats a, 95% confidence"
    assert result["winner"] == "b"


def test_small_samples_are_not_significant_yet():
    result = ab_result("spring", _rows((20, 1), (20, 2)))
    assert result["verdict"] == NOT_SIGNIFICANT and result["winner"] is None


def test_each_variant_carries_its_rate_and_interval():
    result = ab_result("spring", _rows((200, 20), (0, 0)))
    a, b = result["variants"]
    assert (a["ctr"], b["ctr"]) == (0.1, 0.0)
    assert a["low"] < 0.1 < a["high"] and (b["low"], b["high"]) == (0.0, 0.0)


async def test_ab_test_reads_unique_impressions_and_clicks_from_the_store(store):
    sent = datetime(2025, 6, 1, tzinfo=UTC)
    copies, events = [], []
    for i in range(40):
        copy_id = f"{i:016x}"
        variant = "a" if i % 2 else "b"
        copies.append(
            CopyRecord(
                copy_id,
                "q",
                sent,
                "s@example.com",
                "sales",
                "personal",
                "c",
                variant,
                f"r{i}@x.test",
                "x.test",
            )  # fmt: skip
        )
        events.append(EventRecord(copy_id, "impression", sent + timedelta(minutes=1)))
        events.append(EventRecord(copy_id, "impression", sent + timedelta(minutes=2)))
        if variant == "b" and i < 10:
            events.append(EventRecord(copy_id, "click", sent + timedelta(minutes=3)))
    await store.record_copies(copies)
    await store.record_events(events)
    result = await ab_test(store, "c")
    by_variant = {v["variant"]: v for v in result["variants"]}
    assert (by_variant["a"]["impressions"], by_variant["a"]["clicks"]) == (20, 0)
    assert (by_variant["b"]["impressions"], by_variant["b"]["clicks"]) == (20, 5)
    assert by_variant["b"]["ctr"] == pytest.approx(0.25)
