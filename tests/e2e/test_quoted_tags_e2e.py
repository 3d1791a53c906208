"""Issue 13, part 2: a forwarded thread never speaks for its first recipient.

Anna's tracked copy goes to Bob through the real relay; Bob clicks its banner
(the landing page's link carries his visit id) and replies, quoting Anna's
copy as his mail program does, in HTML and text, and pasting the landing
page's address. Anna then sends that thread to Paul through the relay. Paul's
copy carries none of Bob's tokens: no pixel, banner, click or opt-out URL of
Bob's copy, no visit id. Whatever Paul opens, clicks or confirms, Bob's
counters stay as Bob left them and Bob stays tracked.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import SMTP

import aiohttp
import pytest

from config import Config
from exampleflow import INTERNAL, SALES_SENDER, send, wait_recorded
from mailparts import body_text, hrefs, tokens
from sigrelay.service import Service
from smtpsink import SmtpSink
from tracker.tokens import UNTRACKED_COPY_ID, Kind, decode, load_keyring

BOB = "bob@customer.test"
PAUL = "paul@partner.test"
KINDS = "obcu"


@pytest.fixture
def env(env: dict[str, str]) -> Iterator[dict[str, str]]:
    # The banner leads to www.example.com: a landing page, so a click there
    # gets Bob's signed visit id appended by the redirect.
    yield {**env, "SIGRELAY_COMPANY__LANDING_DOMAINS": "example.com"}


def _first_message() -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = SALES_SENDER, BOB, "Our offer"
    msg["Message-ID"] = "<offer-1@example.com>"
    msg.set_content("Hello Bob,\n\nplease find our offer below.\n")
    msg.add_alternative("<html><body><p>Hello Bob,</p><p>our offer.</p></body></html>", "html")
    return msg.as_bytes(policy=SMTP)  # CRLF, as a mail client sends it


def _inner_body(html: str) -> str:
    found = re.search(r"(?is)<body[^>]*>(.*)</body>", html)
    return found.group(1) if found else html


def _thread_to_paul(bob_html: str, bob_text: str, visited: str, banner_click: str) -> bytes:
    """Anna's message to Paul quoting Bob's reply, which quotes Bob's copy."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = SALES_SENDER, PAUL, "Fwd: Re: Our offer"
    msg["In-Reply-To"] = msg["References"] = "<reply-1@customer.test>"
    quoted_copy = "\n".join("> > " + line for line in bob_text.splitlines())
    msg.set_content(
        "Paul, see Bob's answer below.\n\n"
        f"On Tue, Bob <{BOB}> wrote:\n"
        f"> I looked at {visited}\n"
        f"> and the banner: Spring <{banner_click}>\n>\n"
        f"> On Mon, Anna <{SALES_SENDER}> wrote:\n{quoted_copy}\n"
    )
    msg.add_alternative(
        "<html><body><p>Paul, see Bob's answer below.</p>"
        f'<div class="gmail_quote">On Tue, Bob &lt;{BOB}&gt; wrote:<br>'
        '<blockquote class="gmail_quote" style="margin:0 0 0 .8ex;border-left:1px #ccc solid">'
        f'<p>I looked at <a href="{visited}">the spring page</a></p>'
        '<div>On Mon, Anna wrote:<blockquote type="cite">'
        f"{_inner_body(bob_html)}</blockquote></div>"
        "</blockquote></div></body></html>",
        "html",
    )
    return msg.as_bytes(policy=SMTP)  # CRLF, as a mail client sends it


def _all_tokens(*texts: str) -> set[str]:
    return {token for text in texts for kind in KINDS for token in tokens(text, kind)}


async def test_a_forwarded_thread_carries_none_of_the_first_recipients_tags(
    cfg: Config, service: Service, sink: SmtpSink
):
    assert service.store is not None and service.writer is not None
    keyring = load_keyring(cfg.data.dir, os.environ)
    tracker = cfg.tracker.public_url

    # 1. Anna -> Bob: a tracked personal copy (sales group).
    bob_html, bob_text = await _bobs_copy(cfg, service, sink)
    bob_tokens = _all_tokens(bob_html, bob_text)
    (bob_pixel,) = tokens(bob_html, "o")
    bob_copy_id = decode(bob_pixel, keyring, Kind.OPEN).copy_id
    assert tokens(bob_html, "b") and tokens(bob_html, "u") and tokens(bob_text, "u")

    # 2. Bob clicks the banner: the landing page's address carries his visit id.
    banner_click = next(h for h in hrefs(bob_html) if h.startswith(f"{tracker}/c/"))
    async with (
        aiohttp.ClientSession() as http,
        http.get(banner_click, allow_redirects=False) as response,
    ):
        assert response.status == 302
        visited = response.headers["Location"]
    assert "sr_vid=" in visited
    await service.writer.flush()
    bob_before = await _row_of(service, BOB)
    assert bob_before["clicks"] + bob_before["machine"]["clicks"] == 1

    # 3. Anna -> Paul, quoting Bob's reply and Bob's copy.
    thread = _thread_to_paul(bob_html, bob_text, visited, banner_click)
    quoted = _all_tokens(body_text(thread, "html"), body_text(thread, "plain"))
    assert bob_tokens <= quoted, "the thread really quotes Bob's tags"
    await asyncio.to_thread(send, cfg, SALES_SENDER, [PAUL], thread)
    paul_copy = (await sink.handler.wait_for(2))[1]
    assert paul_copy.rcpt_tos == (PAUL,)
    await wait_recorded(service, paul_copy.data)
    paul_html, paul_text = body_text(paul_copy.data, "html"), body_text(paul_copy.data, "plain")

    # Nothing of Bob's copy is left: no token of any kind, no visit id.
    assert _all_tokens(paul_html, paul_text).isdisjoint(bob_tokens)
    assert "sr_vid" not in paul_html and "sr_vid" not in paul_text
    assert "I looked at" in paul_text and "Hello Bob" in paul_html, "the quote itself stays"
    # Bob's links lead straight to their targets; Bob's banner still shows,
    # through a token that names no copy; Paul's own tags are Paul's.
    assert 'href="https://www.example.com/spring"' in paul_html
    (paul_pixel,) = tokens(paul_html, "o")
    paul_copy_id = decode(paul_pixel, keyring, Kind.OPEN).copy_id
    banners = {decode(t, keyring, Kind.BANNER).copy_id for t in tokens(paul_html, "b")}
    assert banners == {paul_copy_id, UNTRACKED_COPY_ID}
    optouts = set(tokens(paul_html, "u")) | set(tokens(paul_text, "u"))
    assert {decode(t, keyring, Kind.OPTOUT).copy_id for t in optouts} == {paul_copy_id}

    # 4. Paul opens everything, clicks everything and confirms every opt-out link.
    async with aiohttp.ClientSession() as http:
        for url in _tracker_urls(paul_html + paul_text, tracker, "ob"):
            async with http.get(url) as response:
                assert response.status == 200
        for url in _tracker_urls(paul_html + paul_text, tracker, "c"):
            async with http.get(url, allow_redirects=False) as response:
                assert response.status == 302
        for url in _tracker_urls(paul_html + paul_text, tracker, "u"):
            async with http.post(url, data={"choice": "untracked"}) as response:
                assert response.status == 200
    await service.writer.flush()

    # Bob's counters did not move; Paul's did (so the events were read).
    assert await _row_of(service, BOB) == bob_before
    paul = await _row_of(service, PAUL)
    assert paul["opens"] + paul["machine"]["opens"] == 1 and paul["optouts"] == 1

    # And Bob is still tracked: his next copy carries a pixel.
    await asyncio.to_thread(send, cfg, SALES_SENDER, [BOB], _first_message())
    bob_next = (await sink.handler.wait_for(3))[2]
    assert tokens(body_text(bob_next.data, "html"), "o"), "Bob was not opted out"
    assert bob_copy_id != paul_copy_id


async def test_a_colleagues_untracked_copy_of_the_thread_is_neutralised_too(
    cfg: Config, service: Service, sink: SmtpSink
):
    # An internal recipient gets no tags of its own; the quote must still not
    # speak for Bob (the click link restored, the banner quiet, no opt-out).
    bob_html, bob_text = await _bobs_copy(cfg, service, sink)
    banner_click = next(h for h in hrefs(bob_html) if "/c/" in h)
    thread = _thread_to_paul(bob_html, bob_text, "https://www.example.com/", banner_click)
    await asyncio.to_thread(send, cfg, SALES_SENDER, [INTERNAL], thread)
    colleague = (await sink.handler.wait_for(2))[1]
    html, text = body_text(colleague.data, "html"), body_text(colleague.data, "plain")
    assert _all_tokens(html, text).isdisjoint(_all_tokens(bob_html, bob_text))
    assert not any(tokens(html + text, kind) for kind in "ocu")
    assert "Hello Bob" in html and 'href="https://www.example.com/spring"' in html


async def _bobs_copy(cfg: Config, service: Service, sink: SmtpSink) -> tuple[str, str]:
    """Anna's first message, as Bob's copy was delivered: its HTML and text."""
    await asyncio.to_thread(send, cfg, SALES_SENDER, [BOB], _first_message())
    (bob_copy,) = await sink.handler.wait_for(1)
    await wait_recorded(service, bob_copy.data)
    return body_text(bob_copy.data, "html"), body_text(bob_copy.data, "plain")


def _tracker_urls(text: str, tracker: str, kinds: str) -> list[str]:
    found = re.findall(rf"{re.escape(tracker)}/([{kinds}])/([A-Za-z0-9_.\-]+)", text)
    return sorted({f"{tracker}/{kind}/{token}" for kind, token in found})


async def _row_of(service: Service, recipient: str) -> dict:
    assert service.store is not None
    rows = (await service.store.stats(by="recipient"))["rows"]
    (row,) = [row for row in rows if row["recipient"] == recipient]
    return row
