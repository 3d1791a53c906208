"""Languages and recipient rules end to end (issue 18): one message from a sales
sender to a colleague, a German and a French customer leaves the relay as three
copies, each with its own templates, disclaimer and opt-out text."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest
from relayclient import DeliveryWatch, smtp_send

from config import load_config
from config.running import RunningConfig
from proxy.recipient_choices import RecipientChoices
from proxy.relay import Relay
from smtpsink import SmtpSink

ANNA = "anna.schmidt@example.com"  # group "sales": en by default, de and fr too
CARLA = "carla@example.com"  # internal: the rule below adds nothing
HANS = "hans@kunde.de"  # .de -> German ([languages] of the example)
CLAIRE = "claire@client.fr"  # .fr -> French, and the rule for client.fr adds a notice

RULES = """    { address = "sales-*@example.com" },
]
[[groups.recipient_rules]]
recipients = "internal"
add = "nothing"
[[groups.recipient_rules]]
recipient_domains = ["client.fr"]
disclaimer_html = "legal.html"
disclaimer_text = "legal.txt"
"""
LEGAL = {
    "legal.html": "<p>Legal notice</p>",
    "legal.txt": "Legal notice",
    "legal.de.html": "<p>Rechtlicher Hinweis</p>",
    "legal.de.txt": "Rechtlicher Hinweis",
    "legal.fr.html": "<p>Mentions légales</p>",
    "legal.fr.txt": "Mentions légales",
}
# The newest text is English: detection alone would make every copy English.
BODY = (
    f"From: {ANNA}\r\nTo: {CARLA}, {HANS}, {CLAIRE}\r\nSubject: Our offer\r\n"
    "Message-ID: <offer-lang@example.com>\r\nMIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\n"
    "Hello all,\r\n\r\nplease find our offer for the season, and let us know what you think.\r\n"
)


def _with_rules(config_dir: Path) -> None:
    toml = config_dir / "sigrelay.toml"
    text = toml.read_text(encoding="utf-8")
    assert '    { address = "sales-*@example.com" },\n]\n' in text
    toml.write_text(text.replace('    { address = "sales-*@example.com" },\n]\n', RULES, 1))
    for name, content in LEGAL.items():
        (config_dir / "templates" / name).write_text(content, encoding="utf-8")


def _text(data: bytes) -> str:
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    return parsed.get_body(("plain",)).get_content()


@pytest.fixture
async def relay(relay_env, config_dir, store, keyring):
    """The relay as `serve` wires it for this: with the opt-out list, so tracked
    copies to one recipient carry the opt-out line."""
    _with_rules(config_dir)
    cfg = load_config(env=relay_env)
    choices = RecipientChoices(store, b"p" * 32)
    relay = Relay(RunningConfig(cfg), store, keyring, choices=choices, store_retry=0.05)
    await relay.start()
    yield relay
    await relay.stop()


async def test_one_message_three_languages_and_rules(relay: Relay, sink: SmtpSink):
    watch = DeliveryWatch(relay.worker)
    refused = await smtp_send(relay.address[1], ANNA, [CARLA, HANS, CLAIRE], BODY.encode())
    assert refused == {}
    await watch.until(lambda: len(watch.done) == 1)

    received = {m.rcpt_tos: m.data for m in sink.handler.received}
    assert set(received) == {(CARLA,), (HANS,), (CLAIRE,)}
    # The colleague gets the message exactly as Anna wrote it.
    assert _text(received[(CARLA,)]) == _text(BODY.encode())
    assert b"X-Sigrelay-Processed" not in received[(CARLA,)]

    german = _text(received[(HANS,)])
    assert "Telefon: +49 30 1234567-10" in german and "Phone:" not in german
    assert "Einstellungen zur Auswertung unserer E-Mails: http://" in german
    assert "?lang=de" in german and "Legal notice" not in german

    french = _text(received[(CLAIRE,)])
    assert "Téléphone: +49 30 1234567-10" in french
    assert "Mentions légales" in french
    assert "Options de suivi de nos e-mails: http://" in french and "?lang=fr" in french

    ((_, state),) = watch.done
    languages = {copy.recipients: copy.language for copy in state.copies}
    assert languages == {(CARLA,): "en", (HANS,): "de", (CLAIRE,): "fr"}
    assert {copy.recipients: copy.tracked for copy in state.copies}[(CARLA,)] is False


async def test_the_newest_text_decides_where_no_domain_does(relay: Relay, sink: SmtpSink):
    kim = "kim@customer.test"  # no domain rule: the French reply above the quote decides
    body = (
        f"From: {ANNA}\r\nTo: {kim}\r\nSubject: Re: offre\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "Merci pour votre message, je vous envoie le contrat dans la journée.\r\n\r\n"
        "On Mon, 3 Feb 2025 at 10:00, Kim <kim@customer.test> wrote:\r\n"
        "> Thanks, please send the contract and the invoice when you can.\r\n"
    )
    watch = DeliveryWatch(relay.worker)
    assert await smtp_send(relay.address[1], ANNA, [kim], body.encode()) == {}
    await watch.until(lambda: len(watch.done) == 1)
    (copy,) = sink.handler.received
    assert "Options de suivi de nos e-mails" in _text(copy.data)
