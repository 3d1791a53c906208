"""Sender notifications: a recipient's click tells the sender once a day, by mail
through the upstream (personal mode, groups with notify_sender = true)."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from config import Config
from exampleflow import EXTERNAL, SALES_SENDER, STAFF_SENDER, relay, wait_recorded
from mailparts import body_text, hrefs, parse
from peers import PERSON
from sigrelay.service import Service
from smtpsink import SmtpSink


@pytest.fixture
def notify_all_groups(config_dir: Path) -> None:
    toml = config_dir / "sigrelay.toml"
    text = toml.read_text().replace(
        'link_mode = "signature"\n', 'link_mode = "signature"\nnotify_sender = true\n'
    )
    toml.write_text(text)


async def _click_all(copy_html: str) -> None:
    async with aiohttp.ClientSession(headers=PERSON) as http:
        for link in [h for h in hrefs(copy_html) if "/c/" in h][:2]:
            async with http.get(link, allow_redirects=False) as response:
                assert response.status == 302


async def test_clicks_of_a_personal_copy_send_the_sender_one_notice(
    notify_all_groups, cfg: Config, service: Service, sink: SmtpSink
):
    await relay(cfg, SALES_SENDER, EXTERNAL[:1])
    (copy,) = await sink.handler.wait_for(1)
    await wait_recorded(service, copy.data)  # the notifier reads the copy's sender from it
    await _click_all(body_text(copy.data, "html"))
    await _click_all(body_text(copy.data, "html"))  # the same day: no second notice
    assert service.notifier is not None
    await service.notifier.drain()

    notices = (await sink.handler.wait_for(2))[1:]
    assert len(notices) == 1
    notice = notices[0]
    # The null sender (RFC 5321 4.5.5), as the sink shows it: no bounce comes back.
    assert (notice.mail_from, notice.rcpt_tos) == ("<>", (SALES_SENDER,))
    message = parse(notice.data)
    assert message["Subject"].startswith(EXTERNAL[0])
    assert message["Auto-Submitted"] == "auto-generated"


async def test_anonymous_copies_never_notify(
    notify_all_groups, cfg: Config, service: Service, sink: SmtpSink
):
    await relay(cfg, STAFF_SENDER, EXTERNAL[:1])  # staff: anonymous mode
    (copy,) = await sink.handler.wait_for(1)
    await wait_recorded(service, copy.data)  # the notifier reads the copy's sender from it
    await _click_all(body_text(copy.data, "html"))
    assert service.notifier is not None
    await service.notifier.drain()
    assert service.notifier.sent == 0 and len(sink.handler.received) == 1
