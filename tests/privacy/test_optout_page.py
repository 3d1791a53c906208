"""The opt-out page over real HTTP on loopback, with a real SQLite store:
GET shows the choices and changes nothing, only POST changes the list."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select

from peers import free_port
from tracker.app import make_app
from tracker.events import HitReader, LocalEvents
from tracker.optout import OptOutSettings
from tracker.optout_texts import language_for
from tracker.pseudonym import pseudonym
from tracker.recipients import recipient_key
from tracker.store import CopyRecord, Store
from tracker.store.models import events, optouts
from tracker.store.optout import list_optouts, opt_out, optouts_of
from tracker.tokens import UNTRACKED_COPY_ID, Keyring, Kind, Token, encode
from tracker.writer import EventWriter

KEY = b"privacy-tests-pseudonym-key-0001"
KEYRING = Keyring({"t1": b"privacy-tests-signing-key-bytes!"}, current="t1")
KIM, LEE = "kim@customer.test", "lee@partner.test"
COPY = "0011223344556677"
NOW = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)


@dataclass
class Page:
    url: str
    store: Store
    writer: LocalEvents
    http: aiohttp.ClientSession

    def link(self, token: Token) -> str:
        return f"{self.url}/u/{encode(token, KEYRING)}"

    async def optouts(self) -> dict[str, str]:
        return {row.recipient_key: row.choice for row in await list_optouts(self.store)}

    async def optout_events(self) -> int:
        await self.writer.flush()
        async with self.store.engine.connect() as conn:
            query = select(func.count()).select_from(events).where(events.c.kind == "optout")
            return (await conn.execute(query)).scalar_one()


def _personal_copy(recipient: str, copy_id: str = COPY) -> CopyRecord:
    return CopyRecord(
        copy_id=copy_id,
        queue_id="q1",
        sent_at=NOW,
        sender="anna@example.com",
        group="sales",
        privacy="personal",
        campaign="spring",
        variant="a",
        recipient=recipient,
        domain=recipient.partition("@")[2],
    )


@pytest.fixture
async def page(tmp_path: Path) -> AsyncIterator[Page]:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    await store.upgrade()
    await store.record_copies([_personal_copy(KIM)])
    writer = LocalEvents(EventWriter(store, tmp_path / "events.journal"), HitReader(KEYRING))
    await writer.start()
    app = make_app(
        KEYRING,
        writer,
        lambda campaign, variant: None,
        optout=OptOutSettings(store, KEY),
        clock=lambda: NOW,
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    async with aiohttp.ClientSession() as http:
        yield Page(f"http://127.0.0.1:{port}", store, writer, http)
    await runner.cleanup()
    await writer.close()
    await store.close()


def _copy_token(copy_id: str = COPY) -> Token:
    return Token(Kind.OPTOUT, copy_id)


def _recipient_token(address: str) -> Token:
    return Token(Kind.OPTOUT, UNTRACKED_COPY_ID, recipient=recipient_key(address, KEY))


async def _post(page: Page, url: str, choice: str, **headers: str) -> tuple[int, str]:
    async with page.http.post(url, data={"choice": choice}, headers=headers) as response:
        return response.status, await response.text()


async def test_get_shows_both_choices_and_a_confirm_button(page: Page):
    async with page.http.get(page.link(_copy_token())) as response:
        html = await response.text()
    assert response.status == 200
    assert 'method="post"' in html
    assert 'value="anonymous"' in html and 'value="untracked"' in html
    assert "<button" in html


async def test_the_page_speaks_the_language_its_link_names(page: Page):
    # The opt-out line under a French copy links with ?lang=fr (config/optout_footer.py);
    # the form posts to the same URL, so the confirmation is French too.
    link = page.link(_copy_token()) + "?lang=fr"
    async with page.http.get(link, headers={"Accept-Language": "de"}) as response:
        html = await response.text()
    assert '<html lang="fr">' in html and "Ne pas me suivre du tout" in html
    status, done = await _post(page, link, "untracked", **{"Accept-Language": "de"})
    assert status == 200 and "vous n&#x27;êtes plus suivi du tout" in done


async def test_link_scanners_fetching_with_get_or_head_opt_nobody_out(page: Page):
    link = page.link(_copy_token())
    for _ in range(3):
        async with page.http.get(link) as response:
            assert response.status == 200
        async with page.http.head(link) as response:
            assert response.status == 200
    assert await page.optouts() == {}
    assert await page.optout_events() == 0


async def test_post_do_not_track_opts_out_the_copys_recipient_and_counts_it(page: Page):
    status, html = await _post(page, page.link(_copy_token()), "untracked")
    assert status == 200 and "not tracked" in html
    assert await page.optouts() == {recipient_key(KIM, KEY): "untracked"}
    assert await page.optout_events() == 1


async def test_post_count_me_anonymously_records_that_choice(page: Page):
    await _post(page, page.link(_copy_token()), "anonymous")
    assert await page.optouts() == {recipient_key(KIM, KEY): "anonymous"}


async def test_a_recipient_token_opts_out_exactly_its_recipient(page: Page):
    status, _ = await _post(page, page.link(_recipient_token(LEE)), "untracked")
    assert status == 200
    assert await page.optouts() == {recipient_key(LEE, KEY): "untracked"}
    assert await page.optout_events() == 0, "a link without a copy has no copy to count against"


async def test_the_page_offers_opting_back_in_and_it_deletes_the_row(page: Page):
    await opt_out(page.store, recipient_key(KIM, KEY), "untracked", NOW)
    link = page.link(_copy_token())
    async with page.http.get(link) as response:
        assert 'value="in"' in await response.text()
    status, _ = await _post(page, link, "in")
    assert status == 200
    assert await page.optouts() == {}


async def test_a_forgotten_recipients_link_still_works(page: Page):
    await page.store.record_copies([_personal_copy(pseudonym(LEE, KEY), "8899aabbccddeeff")])
    status, _ = await _post(page, page.link(_copy_token("8899aabbccddeeff")), "untracked")
    assert status == 200
    assert await optouts_of(page.store, [recipient_key(LEE, KEY)]) == {
        recipient_key(LEE, KEY): "untracked"
    }


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_forged_token_gets_a_plain_error_page_and_records_nothing(page: Page, method: str):
    link = page.link(_copy_token())
    forged = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    async with page.http.request(method, forged, data={"choice": "untracked"}) as response:
        html = await response.text()
    assert response.status == 400
    assert "<form" not in html
    assert await page.optouts() == {} and await page.optout_events() == 0


async def test_a_link_to_a_copy_the_store_does_not_know_changes_nothing(page: Page):
    status, _ = await _post(page, page.link(_copy_token("ffffffffffffffff")), "untracked")
    assert status == 404
    assert await page.optouts() == {}


async def test_a_post_from_another_site_is_refused(page: Page):
    status, _ = await _post(page, page.link(_copy_token()), "untracked", Origin="https://evil.test")
    assert status == 403
    assert await page.optouts() == {}


async def test_a_post_from_the_page_itself_is_accepted(page: Page):
    for origin in (page.url, "null"):
        status, _ = await _post(page, page.link(_copy_token()), "anonymous", Origin=origin)
        assert status == 200


async def test_a_post_without_a_known_choice_changes_nothing(page: Page):
    status, _ = await _post(page, page.link(_copy_token()), "everything")
    assert status == 400
    assert await page.optouts() == {}


async def test_the_page_speaks_german_to_a_german_browser(page: Page):
    headers = {"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}
    async with page.http.get(page.link(_copy_token()), headers=headers) as response:
        html = await response.text()
    assert '<html lang="de">' in html and "Überhaupt nicht auswerten" in html


async def test_the_page_loads_nothing_from_outside_and_has_a_strict_policy(page: Page):
    async with page.http.get(page.link(_copy_token())) as response:
        html, csp = await response.text(), response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "form-action 'self'" in csp
    assert "unsafe-inline" not in csp
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert response.headers["Cache-Control"] == "no-store"


async def test_a_store_that_cannot_record_gives_a_try_later_page(page: Page):
    async with page.store.engine.begin() as conn:
        await conn.run_sync(optouts.drop)
    status, _ = await _post(page, page.link(_copy_token()), "untracked")
    assert status == 503


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "en"),
        ("de", "de"),
        ("fr-FR,fr;q=0.9", "fr"),  # French is shipped since issue 18
        ("es-ES,es;q=0.9", "en"),  # a language we do not ship: English
        ("en;q=0.4,de;q=0.8", "de"),
        ("de;q=0.5,en;q=0.5", "de"),
        ("de;q=0", "en"),
    ],
)
def test_the_language_is_the_browsers_best_of_ours(header: str | None, language: str):
    assert language_for(header) == language


def test_the_language_the_link_names_wins_over_the_browser():
    assert language_for("de", "fr") == "fr"
    assert language_for("de", "xx") == "de"  # a language we do not ship: the browser's


async def test_post_with_a_body_not_in_its_charset_is_refused_with_400(page: Page):
    # Found by tests/hardening/fuzz/fuzz_optout.py: aiohttp's form parser raised
    # UnicodeDecodeError, a 500 with a traceback in the log.
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    body = b"choice=anon\x87\x92\x90\x8as"
    async with page.http.post(page.link(_copy_token()), data=body, headers=headers) as response:
        assert response.status == 400
    assert await page.optouts() == {}


async def test_post_with_a_content_type_email_cannot_parse_is_refused_with_400(page: Page):
    # Found by tests/hardening/fuzz/fuzz_optout.py: aiohttp parses Content-Type
    # with Python's email, which raised IndexError on this parameter: a 500.
    headers = {"Content-Type": "application/x-www-form-u;rlencoded*"}
    async with page.http.post(page.link(_copy_token()), data=b"c", headers=headers) as response:
        assert response.status == 400
    assert await page.optouts() == {}
