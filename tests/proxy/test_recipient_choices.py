"""Opt-out and consent look-ups: shared by the messages planned together, never cached."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import event

from config import EXAMPLE_DIR, load_config
from peers import fresh_postgres_database
from proxy.recipient_choices import RecipientChoices
from tracker.recipients import recipient_key
from tracker.store import Store
from tracker.store.optout import add_consent, opt_out

KEY = b"k" * 32
KIM, LEE, MAX = "kim@customer.test", "lee@partner.test", "max@customer.test"


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path):
    """Both stores the relay runs with (PostgreSQL: a fresh database, dropped after)."""
    if request.param == "sqlite":
        store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
        await store.upgrade()
        yield store
        await store.close()
        return
    async with fresh_postgres_database() as url:
        store = await Store.open(url)
        await store.upgrade()
        yield store
        await store.close()


def _privacy(tmp_path: Path, **overrides: str):
    env = {"SIGRELAY_DATA": str(tmp_path / "data")}
    env.update({f"SIGRELAY_PRIVACY__{name.upper()}": value for name, value in overrides.items()})
    return load_config(EXAMPLE_DIR, env)


def _watch_optout_queries(store) -> tuple[list[str], asyncio.Event]:
    """The opt-out statements the store runs, and an event set at the first."""
    statements: list[str] = []
    started = asyncio.Event()

    @event.listens_for(store.engine.sync_engine, "before_cursor_execute")
    def seen(conn, cursor, statement, parameters, context, executemany):
        if "FROM optouts" in statement:
            statements.append(statement)
            started.set()  # SQLAlchemy runs this in the event loop's thread

    return statements, started


async def test_messages_planned_while_a_query_runs_share_the_next_one(store, tmp_path: Path):
    cfg = _privacy(tmp_path)
    await opt_out(store, recipient_key(LEE, KEY), "untracked", datetime.now(UTC))
    choices = RecipientChoices(store, KEY)
    queries, started = _watch_optout_queries(store)

    first = asyncio.create_task(choices.caps([KIM], cfg.privacy, cfg.is_internal))
    await started.wait()
    answers = await asyncio.gather(
        *(choices.caps([r], cfg.privacy, cfg.is_internal) for r in [KIM, LEE, MAX] * 4)
    )

    assert await first == {KIM: "personal"}
    assert answers == [{KIM: "personal"}, {LEE: "off"}, {MAX: "personal"}] * 4
    assert len(queries) == 2  # the first message's, then one for the twelve


async def test_an_opt_out_counts_from_the_next_message_looked_up(store, tmp_path: Path):
    cfg = _privacy(tmp_path)
    choices = RecipientChoices(store, KEY)
    assert await choices.caps([KIM], cfg.privacy, cfg.is_internal) == {KIM: "personal"}

    await opt_out(store, recipient_key(KIM, KEY), "anonymous", datetime.now(UTC))

    assert await choices.caps([KIM], cfg.privacy, cfg.is_internal) == {KIM: "anonymous"}


async def test_consent_is_looked_up_for_those_who_need_it_in_a_shared_batch(store, tmp_path: Path):
    required = _privacy(tmp_path, require_consent="true", without_consent="off")
    not_required = _privacy(tmp_path)
    await add_consent(store, recipient_key(KIM, KEY), datetime.now(UTC))
    choices = RecipientChoices(store, KEY)

    answers = await asyncio.gather(
        choices.caps([LEE], not_required.privacy, not_required.is_internal),
        choices.caps([KIM, LEE], required.privacy, required.is_internal),
        choices.caps([MAX], not_required.privacy, not_required.is_internal),
    )

    assert answers == [{LEE: "personal"}, {KIM: "personal", LEE: "off"}, {MAX: "personal"}]
