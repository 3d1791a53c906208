"""Per-message no-track, the store down, and the fan-out on the example
configuration, through a whole sigrelay on loopback."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email.message import EmailMessage

from config import Config
from config.running import RunningConfig
from exampleflow import INTERNAL, SALES_SENDER, send
from mailparts import body_text, parse, tokens
from peers import free_port
from proxy.planning import Planner
from proxy.recipient_choices import RecipientChoices
from proxy.spool import Envelope, SpoolEntry
from sigrelay.service import Service
from smtpsink import Received, SmtpSink
from tracker.store import Store
from tracker.tokens import load_keyring

KIM = "kim@customer.test"


def _message(subject: str, *headers: tuple[str, str]) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = SALES_SENDER, KIM, subject
    for name, value in headers:
        msg[name] = value
    msg.set_content("Hello,\n\nour offer.\n")
    msg.add_alternative("<html><body><p>Hello, our offer.</p></body></html>", subtype="html")
    return msg.as_bytes()


async def _send(cfg: Config, sink: SmtpSink, data: bytes, rcpts: list[str]) -> list[Received]:
    await asyncio.to_thread(send, cfg, SALES_SENDER, rcpts, data)
    return await sink.handler.wait_for(1)


def _tracking_tokens(copy: Received) -> list[str]:
    html = body_text(copy.data, "html")
    return tokens(html, "o") + tokens(html, "c") + tokens(html, "u")


async def test_the_subject_tag_sends_the_message_untracked_without_the_tag(
    cfg: Config, service: Service, sink: SmtpSink
):
    (copy,) = await _send(cfg, sink, _message("[NoTrack] Our offer"), [KIM])
    assert _tracking_tokens(copy) == []
    assert parse(copy.data)["Subject"] == "Our offer"


async def test_the_header_sends_the_message_untracked_and_is_removed(
    cfg: Config, service: Service, sink: SmtpSink
):
    (copy,) = await _send(cfg, sink, _message("Our offer", ("X-Sigrelay-Track", "no")), [KIM])
    assert _tracking_tokens(copy) == []
    assert "X-Sigrelay-Track" not in parse(copy.data)


def test_the_spooled_original_keeps_its_tag_while_the_copy_loses_it(cfg: Config):
    planner = Planner(
        RunningConfig(cfg), load_keyring(cfg.data.dir, {"SIGRELAY_TOKEN_KEYS": "k:" + "a" * 24})
    )
    original = _message("[notrack] Our offer", ("X-Sigrelay-Track", "no"))
    envelope = Envelope(mail_from=SALES_SENDER, rcpts=(KIM,), received_at=datetime.now(UTC))
    entry = SpoolEntry("Q1", envelope, original, None)
    state = planner.plan(entry)
    assert [c.tracked for c in state.copies] == [False]
    copy = planner.render(entry, state.copies[0]).message
    assert parse(copy)["Subject"] == "Our offer" and b"X-Sigrelay-Track" not in copy
    assert entry.data is original and b"[notrack] Our offer" in entry.data


async def test_with_the_store_down_every_external_recipient_is_treated_as_opted_out(cfg: Config):
    # Nothing listens on that port: every lookup is refused.
    broken = await Store.open(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/none")
    choices = RecipientChoices(broken, b"k" * 32)
    try:
        caps = await choices.caps([KIM, INTERNAL], cfg.privacy, cfg.is_internal)
    finally:
        await broken.close()
    assert caps == {KIM: "off"}
