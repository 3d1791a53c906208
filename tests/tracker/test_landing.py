"""Landing pages: visit ids on clicks to company sites, /t.js and the /t/e events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from landingsite import NOW, LandingTracker, landing_tracker

from tracker.landing import (
    EVENTS_PER_VISIT,
    VISIT_WINDOW,
    copy_of_visit,
    visit_id,
    with_visit_id,
)
from tracker.store import EventRecord
from tracker.tokens import Keyring, Kind, Token, encode

COPY = "00112233445566aa"
ORIGIN = "https://www.example.com"


@pytest.fixture
async def tracker(tmp_path: Path, keyring: Keyring) -> AsyncIterator[LandingTracker]:
    async with landing_tracker(tmp_path, keyring, ("example.com",)) as running:
        yield running


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com/a", "https://example.com/a?sr_vid=V"),
        ("https://example.com/a?x=1&y=%20", "https://example.com/a?x=1&y=%20&sr_vid=V"),
        ("https://example.com/a?x=1#top", "https://example.com/a?x=1&sr_vid=V#top"),
        ("https://example.com/a?", "https://example.com/a?sr_vid=V"),
        ("https://example.com/#/route?q", "https://example.com/?sr_vid=V#/route?q"),
    ],
)
def test_visit_id_is_appended_and_the_rest_of_the_url_stays_exact(url, expected):
    assert with_visit_id(url, "V") == expected


def test_visit_id_names_its_copy_and_cannot_be_forged(keyring):
    vid = visit_id(COPY, keyring)
    assert len(vid) <= 40 and copy_of_visit(vid, keyring) == COPY
    other = vid.replace(COPY, "ffffffffffffffff")
    assert copy_of_visit(other, keyring) is None
    assert copy_of_visit(vid[:-1] + ("A" if vid[-1] != "A" else "B"), keyring) is None


async def _click(tracker: LandingTracker, keyring: Keyring, target: str) -> str:
    token = encode(Token(Kind.CLICK, COPY, target), keyring)
    url = f"{tracker.url}/c/{token}"
    async with aiohttp.ClientSession() as http, http.get(url, allow_redirects=False) as response:
        assert response.status == 302
        return response.headers["Location"]


async def test_click_to_a_landing_domain_carries_a_signed_visit_id(tracker, keyring):
    location = await _click(tracker, keyring, "https://www.example.com/spring?utm=mail#form")
    base, _, rest = location.partition("&sr_vid=")
    vid, _, fragment = rest.partition("#")
    assert (base, fragment) == ("https://www.example.com/spring?utm=mail", "form")
    assert copy_of_visit(vid, keyring) == COPY


async def test_click_to_another_site_is_redirected_unchanged(tracker, keyring):
    target = "https://www.other.test/page?x=1"
    assert await _click(tracker, keyring, target) == target


async def test_every_click_to_a_landing_page_is_checked_since_its_location_names_the_copy(
    tracker, keyring, forger
):
    target = "https://www.example.com/spring"
    await _click(tracker, keyring, target)
    forged = encode(Token(Kind.CLICK, "ffeeddccbbaa9988", target), forger)
    url = f"{tracker.url}/c/{forged}"
    async with aiohttp.ClientSession() as http, http.get(url, allow_redirects=False) as response:
        assert response.status == 400, "a forged token would get a signed visit id"


async def test_a_link_becomes_a_landing_page_when_the_config_says_so(tmp_path, keyring):
    config = {"landing_domains": ()}
    async with landing_tracker(tmp_path, keyring, lambda: config["landing_domains"]) as tracker:
        target = "https://www.example.com/spring"
        assert await _click(tracker, keyring, target) == target
        config["landing_domains"] = ("example.com",)  # a reloaded config
        location = await _click(tracker, keyring, target)
        assert copy_of_visit(location.partition("?sr_vid=")[2], keyring) == COPY


async def test_script_is_small_plain_javascript(tracker):
    async with aiohttp.ClientSession() as http, http.get(f"{tracker.url}/t.js") as response:
        body = await response.text()
    assert response.content_type == "application/javascript"
    assert len(body) < 3000 and "sendBeacon" in body and "import " not in body


async def _post(tracker: LandingTracker, body: dict, origin: str | None = ORIGIN):
    headers = {"Content-Type": "text/plain"} | ({"Origin": origin} if origin else {})
    url, data = f"{tracker.url}/t/e", json.dumps(body)
    async with aiohttp.ClientSession() as http, http.post(url, data=data, headers=headers) as r:
        return r.status, r.headers.get("Access-Control-Allow-Origin")


async def test_page_view_from_a_landing_origin_records_a_visit_of_the_copy(tracker, keyring):
    body = {"vid": visit_id(COPY, keyring), "type": "view", "url": f"{ORIGIN}/spring"}
    assert await _post(tracker, body) == (204, ORIGIN)
    assert await tracker.recorded() == [
        EventRecord(COPY, "visit", NOW, "human", f"{ORIGIN}/spring")
    ]


async def test_download_is_recorded_with_the_document_url(tracker, keyring):
    body = {"vid": visit_id(COPY, keyring), "type": "download", "url": f"{ORIGIN}/a.pdf"}
    await _post(tracker, body)
    assert [(e.kind, e.target) for e in await tracker.recorded()] == [
        ("download", f"{ORIGIN}/a.pdf")
    ]


async def test_other_origins_are_refused_and_record_nothing(tracker, keyring):
    body = {"vid": visit_id(COPY, keyring), "type": "view", "url": "https://evil.test/"}
    assert await _post(tracker, body, origin="https://evil.test") == (403, None)
    assert await _post(tracker, body, origin=None) == (403, None)
    assert await tracker.recorded() == []


async def test_forged_visit_id_records_nothing(tracker, keyring):
    forged = visit_id(COPY, keyring).replace(COPY, "ffffffffffffffff")
    assert (await _post(tracker, {"vid": forged, "type": "view", "url": ORIGIN}))[0] == 204
    assert await tracker.recorded() == []


async def test_preflight_allows_only_landing_origins(tracker):
    async with aiohttp.ClientSession() as http:
        async with http.options(f"{tracker.url}/t/e", headers={"Origin": ORIGIN}) as allowed:
            assert allowed.status == 204
            assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
        async with http.options(f"{tracker.url}/t/e", headers={"Origin": "https://x.test"}) as no:
            assert no.status == 403


# Issue 14, finding 8: anyone holding a visit id could inject events.


async def test_http_origins_are_refused_unless_allowed_for_development(tmp_path, keyring):
    body = {"vid": visit_id(COPY, keyring), "type": "view", "url": "http://www.example.com/"}
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    async with landing_tracker(tmp_path / "a", keyring, ("example.com",)) as strict:
        assert await _post(strict, body, origin="http://www.example.com") == (403, None)
        assert await strict.recorded() == []
    async with landing_tracker(tmp_path / "b", keyring, ("example.com",), allow_http=True) as dev:
        assert (await _post(dev, body, origin="http://www.example.com"))[0] == 204
        assert len(await dev.recorded()) == 1


@pytest.mark.parametrize(
    "url", ["https://evil.test/", "http://www.example.com/spring", "https://example.com.evil.test/"]
)
async def test_a_reported_url_off_the_landing_domains_is_refused(tracker, keyring, url):
    body = {"vid": visit_id(COPY, keyring), "type": "view", "url": url}
    assert (await _post(tracker, body))[0] == 400
    assert await tracker.recorded() == []


async def test_events_per_visit_id_are_limited_then_allowed_again(tmp_path, keyring):
    clock = {"now": NOW}
    async with landing_tracker(
        tmp_path, keyring, ("example.com",), clock=lambda: clock["now"]
    ) as tracker:
        body = {"vid": visit_id(COPY, keyring), "type": "link", "url": f"{ORIGIN}/a"}
        statuses = [(await _post(tracker, body))[0] for _ in range(EVENTS_PER_VISIT + 1)]
        clock["now"] = NOW + timedelta(seconds=VISIT_WINDOW)
        later = (await _post(tracker, body))[0]
        other = {"vid": visit_id("00112233445566bb", keyring), "type": "view", "url": ORIGIN}
        another_visit = (await _post(tracker, other))[0]
        recorded = await tracker.recorded()
    assert statuses == [204] * EVENTS_PER_VISIT + [429]
    assert (later, another_visit) == (204, 204)
    assert len(recorded) == EVENTS_PER_VISIT + 2
