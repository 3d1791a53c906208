"""Issue 3: the whole path of a message on the example configuration.

smtplib -> relay (real socket) -> spool -> rewriter -> SMTP sink upstream;
then a recipient's mail program fetches the pixel and clicks a link on the
tracker (real socket), and `sigrelay stats --json` counts it.
"""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

import aiohttp
from bs4 import BeautifulSoup

from config import Config
from exampleflow import (
    EXTERNAL,
    INTERNAL,
    SALES_SENDER,
    STAFF_SENDER,
    cli_json,
    relay,
    wait_recorded,
)
from mailparts import body_text, hrefs, tokens
from peers import PERSON
from sigrelay.service import Service
from smtpsink import Received, SmtpSink
from tracker.tokens import UNTRACKED_COPY_ID, Kind, decode, load_keyring


def _copy_for(received: list[Received], rcpt: str) -> Received:
    matches = [r for r in received if rcpt in r.rcpt_tos]
    assert len(matches) == 1, f"{rcpt} is in {len(matches)} copies"
    return matches[0]


def _visible_text(html: str) -> str:
    return " ".join(BeautifulSoup(html, "html.parser").get_text(" ").split())


def _signature_line(cfg: Config, sender: str) -> str:
    """'<name> <title>' as the signature shows it: the employee's own line, which
    the message body never contains, so counting it counts signatures."""
    employee = cfg.sender(sender).employee
    assert employee is not None, f"{sender} is not in the example directory"
    return employee.title


def _untracked_banner(cfg: Config, html: str) -> str:
    """The internal copy's banner token: it must name no copy, so it counts nothing."""
    (token,) = tokens(html, "b")
    decoded = decode(token, load_keyring(cfg.data.dir, os.environ), Kind.BANNER)
    assert decoded is not None and decoded.copy_id == UNTRACKED_COPY_ID
    return token


async def test_personal_group_gets_one_tracked_copy_per_external_recipient(
    cfg: Config, service: Service, sink: SmtpSink, env: dict[str, str]
):
    await relay(cfg, SALES_SENDER, [*EXTERNAL, INTERNAL])
    received = await sink.handler.wait_for(3)
    assert len(received) == 3

    line = _signature_line(cfg, SALES_SENDER)
    for copy in received:
        assert body_text(copy.data, "plain").count(line) == 1
        assert _visible_text(body_text(copy.data, "html")).count(line) == 1

    first, second = (_copy_for(received, rcpt) for rcpt in EXTERNAL)
    internal = _copy_for(received, INTERNAL)
    await wait_recorded(service, first.data)  # a recipient opens after the fact is stored
    first_html, second_html = body_text(first.data, "html"), body_text(second.data, "html")
    internal_html = body_text(internal.data, "html")

    pixel_1, pixel_2 = tokens(first_html, "o"), tokens(second_html, "o")
    assert len(pixel_1) == len(pixel_2) == 1
    assert pixel_1 != pixel_2, "each external recipient gets its own token"
    assert tokens(internal_html, "o") == [] and tokens(internal_html, "c") == []
    assert tokens(internal_html, "b") == [_untracked_banner(cfg, internal_html)]

    # The internal copy shows the signature links untracked: they are the originals.
    tracked = [h for h in hrefs(second_html) if "/c/" in h]
    originals = [h for h in hrefs(internal_html) if h.startswith("http")]
    assert tracked, "the signature carries tracked links"
    async with aiohttp.ClientSession(headers=PERSON) as http:
        async with http.get(f"{cfg.tracker.public_url}/o/{pixel_1[0]}") as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "image/gif"
        async with http.get(tracked[0], allow_redirects=False) as resp:
            assert resp.status == 302
            assert resp.headers["Location"] == originals[0]

    await service.stop()  # flushes the event writer
    totals = (await cli_json(env, "stats"))["totals"]
    assert (totals["sent"], totals["opens"], totals["clicks"]) == (2, 1, 1)
    by_recipient = {
        r["recipient"]: r for r in (await cli_json(env, "stats", "--by", "recipient"))["rows"]
    }
    assert by_recipient[EXTERNAL[0]]["opens"] == 1 and by_recipient[EXTERNAL[0]]["clicks"] == 0
    assert by_recipient[EXTERNAL[1]]["opens"] == 0 and by_recipient[EXTERNAL[1]]["clicks"] == 1


async def test_anonymous_group_stores_no_recipient_anywhere(
    cfg: Config, service: Service, sink: SmtpSink, env: dict[str, str]
):
    await relay(cfg, STAFF_SENDER, [*EXTERNAL, INTERNAL])
    received = await sink.handler.wait_for(2)
    assert len(received) == 2, "one anonymous copy for all external recipients + one internal"
    shared = _copy_for(received, EXTERNAL[0])
    assert set(shared.rcpt_tos) == set(EXTERNAL)
    html = body_text(shared.data, "html")
    line = _signature_line(cfg, STAFF_SENDER)
    assert _visible_text(html).count(line) == 1

    tracked = [h for h in hrefs(html) if "/c/" in h]
    await wait_recorded(service, shared.data)  # a recipient opens after the fact is stored
    async with aiohttp.ClientSession(headers=PERSON) as http:
        async with http.get(f"{cfg.tracker.public_url}/o/{tokens(html, 'o')[0]}") as resp:
            assert resp.status == 200
        async with http.get(tracked[0], allow_redirects=False) as resp:
            assert resp.status == 302

    await service.stop()
    totals = (await cli_json(env, "stats"))["totals"]
    assert (totals["sent"], totals["opens"], totals["clicks"]) == (2, 1, 1)

    database = Path(cfg.store.url.split("///", 1)[1])
    dump = "\n".join(sqlite3.connect(database).iterdump()).lower()
    for address in EXTERNAL:
        local, domain = address.split("@")
        assert address not in dump and domain not in dump, f"{address} leaked into the store"
    assert re.search(r"insert into \"?copies\"?", dump), "the sent facts are there, anonymously"


async def test_forged_or_altered_tokens_record_nothing_and_never_redirect(
    cfg: Config, service: Service, sink: SmtpSink, env: dict[str, str]
):
    await relay(cfg, SALES_SENDER, [EXTERNAL[0]])
    (copy,) = await sink.handler.wait_for(1)
    html = body_text(copy.data, "html")
    click = tokens(html, "c")[0]
    pixel = tokens(html, "o")[0]
    flipped = click[:-3] + ("A" if click[-3] != "A" else "B") + click[-2:]
    forged = [f"/c/{flipped}", "/c/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "/c/" + "x" * 5000]
    async with aiohttp.ClientSession(headers=PERSON) as http:
        for path in forged:
            async with http.get(cfg.tracker.public_url + path, allow_redirects=False) as resp:
                assert resp.status == 400 and "Location" not in resp.headers, path
        bad_pixel = pixel[:-1] + ("A" if pixel[-1] != "A" else "B")
        async with http.get(f"{cfg.tracker.public_url}/o/{bad_pixel}") as resp:
            assert resp.status == 200 and resp.headers["Content-Type"] == "image/gif"

    await service.stop()
    totals = (await cli_json(env, "stats"))["totals"]
    assert (totals["sent"], totals["opens"], totals["clicks"]) == (1, 0, 0)
