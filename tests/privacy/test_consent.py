"""privacy.require_consent: personal tracking only with recorded consent
(`sigrelay consent add`), everyone else anonymously."""

from __future__ import annotations

import pytest

from config import Config
from exampleflow import SALES_SENDER, cli_json, relay
from mailparts import body_text, tokens
from sigrelay.service import Service
from smtpsink import SmtpSink
from tracker.tokens import Kind, decode, load_keyring

KIM = "kim@customer.test"


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "SIGRELAY_PRIVACY__REQUIRE_CONSENT": "true"}


def _optout_token(cfg: Config, env: dict[str, str], html: str):
    (text,) = set(tokens(html, "u"))
    return decode(text, load_keyring(cfg.data.dir, env), Kind.OPTOUT)


async def test_without_consent_a_personal_group_tracks_anonymously_and_with_it_personally(
    cfg: Config, service: Service, sink: SmtpSink, env: dict[str, str]
):
    await relay(cfg, SALES_SENDER, [KIM])
    first = body_text((await sink.handler.wait_for(1))[0].data, "html")
    assert tokens(first, "o"), "counted anonymously"
    token = _optout_token(cfg, env, first)
    assert token is not None and token.recipient is not None, "the copy names nobody in the store"

    assert (await cli_json(env, "consent", "add", KIM))["recipient_key"] == token.recipient
    listed = await cli_json(env, "consent", "list", KIM)
    assert listed["addresses"] == {KIM: True}
    assert KIM not in str(listed["consents"]), "the list holds hashes, not addresses"

    await relay(cfg, SALES_SENDER, [KIM])
    second = body_text((await sink.handler.wait_for(2))[1].data, "html")
    token = _optout_token(cfg, env, second)
    assert token is not None and token.recipient is None, "a personal copy: its row names KIM"
