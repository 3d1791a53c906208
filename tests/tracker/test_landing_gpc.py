"""Global Privacy Control on landing pages (issue 16 item 8): a browser that
sends `Sec-GPC: 1` or `DNT: 1` is counted without the copy's identity
(`privacy.gpc = "anonymous"`), or not at all (`"off"`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from landingsite import LandingTracker, landing_tracker

from tracker.landing import visit_id
from tracker.store import CopyRecord
from tracker.store.withdrawal import standin_copy_id
from tracker.tokens import Keyring

ORIGIN = "https://www.example.com"  # landing events come from https origins only
COPY = CopyRecord(
    "00112233445566bb", "q1", datetime(2025, 3, 9, 9, 0, tzinfo=UTC), "ann@corp.example",
    "sales", "personal", "spring", "a", "kim@customer.test", "customer.test",
)  # fmt: skip
STANDIN = standin_copy_id("spring", "a", "sales", "ann@corp.example")


async def _view(tracker: LandingTracker, keyring: Keyring, **headers: str) -> int:
    body = json.dumps({"vid": visit_id(COPY.copy_id, keyring), "type": "view", "url": ORIGIN})
    headers = {"Origin": ORIGIN, "Content-Type": "text/plain", **headers}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{tracker.url}/t/e", data=body, headers=headers) as response,
    ):
        return response.status


@pytest.mark.parametrize("header", [{"Sec-GPC": "1"}, {"DNT": "1"}])
async def test_a_gpc_or_dnt_visit_counts_for_the_campaign_not_the_copy(tmp_path, keyring, header):
    async with landing_tracker(tmp_path, keyring, ("example.com",)) as tracker:
        await tracker.store.record_copies([COPY])
        assert await _view(tracker, keyring, **header) == 204
        assert await _view(tracker, keyring) == 204  # the same copy, no signal: as before
        assert [e.copy_id for e in await tracker.recorded()] == [STANDIN, COPY.copy_id]
        totals = (await tracker.store.stats(campaign="spring"))["totals"]
        assert (totals["sent"], totals["visits"]) == (1, 2)
        rows = (await tracker.store.stats(by="recipient"))["rows"]
        kim = next(row for row in rows if row["recipient"] == "kim@customer.test")
        assert kim["visits"] == 1, "the GPC visit is not Kim's"


async def test_with_gpc_off_a_gpc_visit_is_not_recorded(tmp_path: Path, keyring):
    async with landing_tracker(tmp_path, keyring, ("example.com",), gpc="off") as tracker:
        await tracker.store.record_copies([COPY])
        assert await _view(tracker, keyring, **{"Sec-GPC": "1"}) == 204
        assert await _view(tracker, keyring, DNT="1") == 204
        assert await tracker.recorded() == []


async def test_gpc_0_is_no_signal(tmp_path: Path, keyring):
    async with landing_tracker(tmp_path, keyring, ("example.com",), gpc="off") as tracker:
        await tracker.store.record_copies([COPY])
        await _view(tracker, keyring, **{"Sec-GPC": "0"}, DNT="0")
        assert [e.copy_id for e in await tracker.recorded()] == [COPY.copy_id]
