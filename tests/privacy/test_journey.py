"""A recipient's journey on the example configuration, over real sockets:
a tracked copy, the opt-out page, "do not track me", an untracked next copy,
the opt-out in the stats, opting back in, tracked again."""

from __future__ import annotations

import aiohttp

from config import Config
from exampleflow import SALES_SENDER, relay, wait_recorded
from mailparts import body_text, tokens
from sigrelay.service import Service
from smtpsink import Received, SmtpSink
from tracker.store import Store
from tracker.store.optout import list_optouts

KIM = "kim@customer.test"


async def _next_copy(service: Service, sink: SmtpSink, count: int) -> Received:
    await relay(service.cfg, SALES_SENDER, [KIM])
    copy = (await sink.handler.wait_for(count))[count - 1]
    await wait_recorded(service, copy.data)
    return copy


def _tags(copy: Received) -> dict[str, list[str]]:
    html = body_text(copy.data, "html") + body_text(copy.data, "plain")
    return {kind: tokens(html, kind) for kind in ("o", "c", "u")}


async def _choose(http: aiohttp.ClientSession, cfg: Config, token: str, choice: str) -> int:
    async with http.post(f"{cfg.tracker.public_url}/u/{token}", data={"choice": choice}) as r:
        return r.status


async def test_opting_out_untracks_the_next_message_and_opting_in_tracks_again(
    cfg: Config, service: Service, sink: SmtpSink
):
    assert service.store is not None and service.writer is not None
    first = _tags(await _next_copy(service, sink, 1))
    assert first["o"] and first["c"], "a personal copy is tracked"
    (link,) = set(first["u"])

    async with aiohttp.ClientSession() as http:
        async with http.get(f"{cfg.tracker.public_url}/u/{link}") as page:
            assert page.status == 200 and 'value="untracked"' in await page.text()
        assert await list_optouts(service.store) == [], "showing the page changes nothing"

        assert await _choose(http, cfg, link, "untracked") == 200
        second = _tags(await _next_copy(service, sink, 2))
        assert second == {"o": [], "c": [], "u": []}, "no pixel, no tracked link, no opt-out link"

        await service.writer.flush()
        stats = await service.store.stats()
        assert stats["totals"]["optouts"] == 1

        assert await _choose(http, cfg, link, "in") == 200
        third = _tags(await _next_copy(service, sink, 3))
        assert third["o"] and third["c"] and third["u"], "tracked again"


async def test_count_me_anonymously_gives_an_anonymous_copy_that_stores_no_address(
    cfg: Config, service: Service, sink: SmtpSink
):
    assert service.store is not None
    (link,) = set(_tags(await _next_copy(service, sink, 1))["u"])
    async with aiohttp.ClientSession() as http:
        assert await _choose(http, cfg, link, "anonymous") == 200
    second = _tags(await _next_copy(service, sink, 2))
    assert second["o"], "still counted"
    assert second["u"] and second["u"] != [link], "its own link names the recipient, not a copy"
    await service.stop()  # the relay records its sent facts before it stops
    store = await Store.open(cfg.store.url)
    try:
        rows = (await store.stats(by="recipient"))["rows"]
    finally:
        await store.close()
    assert sorted((row["recipient"] or "", row["sent"]) for row in rows) == [("", 1), (KIM, 1)]
