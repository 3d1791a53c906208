"""The opt-out and consent lists in the store, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from config.schema import PrivacyMode
from sigrelay.cli_privacy import optout_add
from tracker.recipients import recipient_key
from tracker.store import CopyRecord, Store
from tracker.store.models import consents, optouts
from tracker.store.optout import (
    OptOutChoice,
    add_consent,
    consents_of,
    list_consents,
    list_optouts,
    opt_in,
    opt_out,
    optouts_of,
    recipient_of_copy,
    remove_consent,
)

KEY = b"optout-store-tests-pseudonym-key"
KIM, LEE = "kim@customer.test", "lee@partner.test"
NOW = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)


def _key(address: str) -> str:
    return recipient_key(address, KEY)


async def _all_cells(store: Store) -> list[str]:
    async with store.engine.connect() as conn:
        rows = [*await conn.execute(select(optouts)), *await conn.execute(select(consents))]
    return [str(cell) for row in rows for cell in row]


async def test_an_opt_out_is_found_by_the_recipient_key_with_its_choice(store: Store):
    await opt_out(store, _key(KIM), "untracked", NOW)
    assert await optouts_of(store, [_key(KIM), _key(LEE)]) == {_key(KIM): "untracked"}


async def test_the_store_never_holds_the_address(store: Store):
    await opt_out(store, _key(KIM), "anonymous", NOW)
    await add_consent(store, _key(LEE), NOW)
    cells = " ".join(await _all_cells(store))
    assert "kim" not in cells and "lee" not in cells and "customer" not in cells


async def test_opting_out_again_changes_the_choice_and_time(store: Store):
    await opt_out(store, _key(KIM), "anonymous", NOW)
    await opt_out(store, _key(KIM), "untracked", NOW + timedelta(days=1))
    (row,) = await list_optouts(store)
    assert (row.choice, row.at) == ("untracked", NOW + timedelta(days=1))


async def test_opting_back_in_deletes_the_row(store: Store):
    await opt_out(store, _key(KIM), "untracked", NOW)
    assert await opt_in(store, _key(KIM)) is True
    assert await list_optouts(store) == []
    assert await opt_in(store, _key(KIM)) is False, "nothing left to delete"


async def test_an_unknown_choice_is_refused(store: Store):
    with pytest.raises(ValueError, match="anonymous or untracked"):
        await opt_out(store, _key(KIM), "sometimes", NOW)


async def test_consent_is_recorded_listed_and_withdrawn(store: Store):
    await add_consent(store, _key(KIM), NOW)
    await add_consent(store, _key(KIM), NOW)  # twice is once
    assert await consents_of(store, [_key(KIM), _key(LEE)]) == {_key(KIM)}
    assert [c.recipient_key for c in await list_consents(store)] == [_key(KIM)]
    assert await remove_consent(store, _key(KIM)) is True
    assert await consents_of(store, [_key(KIM)]) == set()


async def test_many_keys_are_looked_up_in_chunks(store: Store):
    keys = [_key(f"r{i}@customer.test") for i in range(1200)]
    for key in keys[::100]:
        await opt_out(store, key, "untracked", NOW)
    assert set(await optouts_of(store, keys)) == set(keys[::100])


async def test_the_recipient_of_a_personal_copy_is_read_from_its_row(store: Store):
    sent = CopyRecord(
        copy_id="0123456789abcdef",
        queue_id="q1",
        sent_at=NOW,
        sender="anna@example.com",
        group="sales",
        privacy="personal",
        campaign=None,
        variant=None,
        recipient=KIM,
        domain="customer.test",
    )
    await store.record_copies([sent])
    assert await recipient_of_copy(store, "0123456789abcdef") == KIM
    assert await recipient_of_copy(store, "fedcba9876543210") is None


def test_the_opt_out_words_stay_those_the_databases_hold():
    """Stored rows, the page's form, the API and the command line all say these."""
    assert [choice.value for choice in OptOutChoice] == ["anonymous", "untracked"]
    cli_choices = next(p for p in optout_add.params if p.name == "choice").type.choices
    assert sorted(cli_choices) == sorted(OptOutChoice)


def test_an_opt_out_caps_the_privacy_mode_and_a_cap_names_its_opt_out():
    assert OptOutChoice.ANONYMOUS.mode is PrivacyMode.ANONYMOUS
    assert OptOutChoice.UNTRACKED.mode is PrivacyMode.OFF
    assert OptOutChoice.capped_to("off") is OptOutChoice.UNTRACKED
    assert OptOutChoice.capped_to(PrivacyMode.ANONYMOUS) is OptOutChoice.ANONYMOUS
