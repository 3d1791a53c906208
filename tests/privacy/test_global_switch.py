"""privacy.tracking_enabled = false: no pixel, no tracked link, no opt-out link anywhere."""

from __future__ import annotations

import pytest

from config import Config
from exampleflow import EXTERNAL, INTERNAL, SALES_SENDER, STAFF_SENDER, relay
from mailparts import body_text, tokens
from sigrelay.service import Service
from smtpsink import SmtpSink


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "SIGRELAY_PRIVACY__TRACKING_ENABLED": "false"}


@pytest.mark.parametrize("sender", [SALES_SENDER, STAFF_SENDER])
async def test_the_global_switch_turns_every_tag_off_in_every_group(
    cfg: Config, service: Service, sink: SmtpSink, sender: str
):
    await relay(cfg, sender, [*EXTERNAL, INTERNAL])
    (copy,) = await sink.handler.wait_for(1)
    assert sorted(copy.rcpt_tos) == sorted([*EXTERNAL, INTERNAL]), "one copy for everyone"
    html = body_text(copy.data, "html") + body_text(copy.data, "plain")
    assert [tokens(html, kind) for kind in ("o", "c", "u")] == [[], [], []]
