"""Consent with proof on the recipient's page (issue 16 item 7; GDPR Art. 7):
given and withdrawn by POST, each leaving a receipt of when, how and which
text version, and nothing more; withdrawal is retroactive."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).parent))

from consentsite import COPY, KEY, KIM, NOW, Site, serve  # noqa: E402

from tracker.consent import STATEMENTS, VERSIONS, text_version  # noqa: E402
from tracker.recipients import recipient_key  # noqa: E402
from tracker.store import EventRecord  # noqa: E402
from tracker.store.models import consent_receipts, events  # noqa: E402
from tracker.store.optout import consents_of, list_consent_receipts, optouts_of  # noqa: E402
from tracker.store.withdrawal import standin_copy_id  # noqa: E402

EN_VERSION = text_version(STATEMENTS["en"])


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    async for served in serve(tmp_path):
        yield served


async def _post(site: Site, data: dict, **headers: str) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.post(site.link, data=data, headers=headers) as response,
    ):
        return response.status


async def test_the_page_shows_the_statement_its_version_and_a_consent_button(site: Site):
    async with aiohttp.ClientSession() as http, http.get(site.link) as response:
        html = await response.text()
    assert STATEMENTS["en"][:40] in html
    assert f'name="version" value="{EN_VERSION}"' in html
    assert re.search(r'<button type="submit" name="consent" value="give">', html)


async def test_giving_consent_records_when_how_and_which_text_and_nothing_more(site: Site):
    assert await _post(site, {"consent": "give", "version": EN_VERSION}) == 200
    key = recipient_key(KIM, KEY)
    assert await consents_of(site.store, [key]) == {key}
    (receipt,) = await list_consent_receipts(site.store)
    assert (receipt.recipient_key, receipt.at, receipt.action) == (key, NOW, "given")
    assert (receipt.how, receipt.text_version) == ("optout-page:give-consent-button", EN_VERSION)
    assert [c.name for c in consent_receipts.columns] == [
        "id", "recipient_key", "at", "action", "how", "text_version",
    ]  # fmt: skip


async def test_a_version_we_never_showed_or_a_foreign_origin_records_nothing(site: Site):
    assert await _post(site, {"consent": "give", "version": "sha256:0000"}) == 400
    foreign = {"Origin": "https://evil.test"}
    assert await _post(site, {"consent": "give", "version": EN_VERSION}, **foreign) == 403
    assert await list_consent_receipts(site.store) == []


async def test_withdrawing_on_the_page_is_retroactive(site: Site):
    await _post(site, {"consent": "give", "version": EN_VERSION})
    assert await _post(site, {"consent": "withdraw", "version": EN_VERSION}) == 200
    key = recipient_key(KIM, KEY)
    assert await consents_of(site.store, [key]) == set()
    assert await optouts_of(site.store, [key]) == {key: "anonymous"}  # privacy.without_consent
    actions = [r.action for r in await list_consent_receipts(site.store)]
    assert actions == ["given", "withdrawn"], "the proof outlives the consent"
    # A later open of the copy sent while Kim had consented no longer names Kim.
    await site.store.record_events([EventRecord(COPY.copy_id, "open", NOW + timedelta(hours=1))])
    async with site.store.engine.connect() as conn:
        stored = (await conn.execute(select(events.c.copy_id))).scalars().all()
    assert stored == [standin_copy_id("spring", "a", "sales", "ann@corp.example")]


async def test_without_consent_off_a_withdrawal_stops_tracking_earlier_copies(tmp_path: Path):
    async for site in serve(tmp_path, without_consent="off"):
        await _post(site, {"consent": "give", "version": EN_VERSION})
        await _post(site, {"consent": "withdraw", "version": EN_VERSION})
        key = recipient_key(KIM, KEY)
        assert await optouts_of(site.store, [key]) == {key: "untracked"}
        await site.store.record_events([EventRecord(COPY.copy_id, "open", NOW)])
        async with site.store.engine.connect() as conn:
            assert (await conn.execute(select(events.c.id))).all() == []


def test_consent_export_writes_the_receipts_and_the_texts_they_name(tmp_path: Path):
    import asyncio

    from click.testing import CliRunner

    from sigrelay.cli import main
    from tracker.store import Store
    from tracker.store.optout import add_consent

    url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"

    async def fill() -> None:
        store = await Store.open(url)
        await store.upgrade()
        await add_consent(store, "a" * 24, NOW, "optout-page:give-consent-button", EN_VERSION)
        await add_consent(store, "b" * 24, NOW)  # by an admin: no text shown
        await store.close()

    asyncio.run(fill())
    env = {"SIGRELAY_STORE__URL": url, "SIGRELAY_DATA": str(tmp_path)}
    result = CliRunner().invoke(main, ["consent", "export", "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    exported = json.loads(result.stdout)
    assert [(r["recipient_key"], r["how"], r["text_version"]) for r in exported["receipts"]] == [
        ("a" * 24, "optout-page:give-consent-button", EN_VERSION),
        ("b" * 24, "admin", None),
    ]
    assert exported["texts"] == {EN_VERSION: VERSIONS[EN_VERSION]}
    out = tmp_path / "receipts.csv"
    result = CliRunner().invoke(main, ["consent", "export", "--out", str(out)], env=env)
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert lines[0] == "recipient_key,at,action,how,text_version"
    assert lines[1].startswith(f"{'a' * 24},{NOW.isoformat()},given,")


@pytest.mark.parametrize(("require", "expected"), [("true", "anonymous"), ("false", None)])
def test_consent_remove_by_an_admin_is_retroactive_where_consent_is_required(
    tmp_path: Path, require: str, expected: str | None
):
    from click.testing import CliRunner

    from sigrelay.cli import main

    url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    env = {
        "SIGRELAY_STORE__URL": url,
        "SIGRELAY_DATA": str(tmp_path),
        "SIGRELAY_PRIVACY__REQUIRE_CONSENT": require,
    }
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    added = runner.invoke(main, ["consent", "add", KIM, "--json"], env=env)
    assert added.exit_code == 0, added.output
    key = json.loads(added.stdout)["recipient_key"]
    removed = runner.invoke(main, ["consent", "remove", KIM, "--json"], env=env)
    assert json.loads(removed.stdout) == {"removed": True}
    listed = runner.invoke(main, ["optout", "list", "--json"], env=env)
    choices = {o["recipient_key"]: o["choice"] for o in json.loads(listed.stdout)["optouts"]}
    assert choices.get(key) == expected
