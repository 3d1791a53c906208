"""Reply placement per client: under the newest text, above the quoted thread.

Golden files hold the rewritten body parts; regenerate them with
SIGRELAY_UPDATE_GOLDEN=1 and review the diff.
"""

import os
from pathlib import Path

import pytest
from rewriter_plans import REPLY_SIGNATURE, body_of, html_message, make_plan, message, parsed

from peers import CORPUS, require_corpus
from rewriter import LinkMode, Outcome
from rewriter.mime import to_crlf
from rewriter.rewrite import rewrite

CORPUS = CORPUS
GOLDEN = Path(__file__).parent / "golden"
PLAN = make_plan(link_mode=LinkMode.NONE, banner=None, pixel_url=None)

# sample -> a piece of the quoted thread the signature must come before
SAMPLES = {
    "outlook-desktop": ("replies/generated/outlook-desktop-reply-iso8859-qp.eml", "Von:"),
    "outlook-web": ("replies/generated/outlook-web-reply.eml", "divRplyFwdMsg"),
    "outlook-plain": ("replies/talon-eml/outlook.eml", "Sent: March-09-12"),
    "gmail": ("replies/gmail/discourse-gmail-web-reply.eml", "gmail_quote"),
    "apple": ("replies/apple/discourse-iphone-mail-reply.eml", 'blockquote type="cite"'),
    "apple-plain": ("replies/talon-eml/apple_mail.eml", "wrote:"),
    "plain-original-message": ("replies/talon-eml/aol.eml", "Original Message"),
    "lotus-domino": ("replies/other/zammad-lotus-domino-html-reply.eml", "domino-section"),
    "thunderbird": ("replies/talon-html/thunderbird.html", "moz-cite-prefix"),
    "thunderbird-plain": ("replies/thunderbird/zammad-thunderbird12-flowed-8bit-reply.eml", None),
    "thunderbird-forward": ("replies/quotequail-html/thunderbird_forward.html", "moz-forward"),
    "hotmail": ("replies/talon-html/hotmail.html", "stopSpelling"),
    "hotmail-gt-quoted": ("replies/talon-eml/hotmail.eml", "&gt; Subject: Test"),
    "windows-mail": ("replies/talon-html/windows_mail.html", "border-top-style"),
    "outlook-2003": ("replies/talon-html/ms_outlook_2003.html", "<hr"),
    "outlook-2010": ("replies/talon-html/ms_outlook_2010.html", '<p class="MsoNormal"><b>'),
    "ios-unescaped-address": (
        "replies/quotequail-html/ios_mail_reply_unescaped_address.html",
        "On Sep 4, 2025",
    ),
    "yahoo": ("replies/quotequail-html/yahoo_reply_unescaped_address.html", "yahoo_quoted"),
}


def _load(relative: str) -> bytes:
    """A corpus message; an HTML fragment (talon, quotequail) becomes a one-part message."""
    path = CORPUS / relative
    if not path.exists():
        require_corpus(relative)
    if path.suffix == ".html":
        return message(to_crlf(path.read_bytes()), "text/html; charset=utf-8")
    return path.read_bytes()


def _bodies(raw: bytes) -> str:
    texts = []
    for part in parsed(raw).walk():
        if part.get_content_maintype() == "text" and not part.is_attachment():
            texts.append(f"=== {part.get_content_type()}\n{part.get_content()}")
    return "\n".join(texts).replace("\r\n", "\n")


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_signature_goes_above_the_quote(name):
    relative, quote_marker = SAMPLES[name]
    result = rewrite(_load(relative), PLAN)
    assert result.outcome is Outcome.REWRITTEN
    sections = _bodies(result.message).split("=== ")[1:]
    if quote_marker is None:  # bottom-posted: the signature ends the newest text
        assert all(s.rstrip().endswith("https://example.com/team") for s in sections)
        return
    quoted = [section for section in sections if quote_marker in section]
    assert quoted
    for section in quoted:
        assert section.index("Jane Roe") < section.index(quote_marker)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_reply_placement_matches_golden(name):
    relative, _ = SAMPLES[name]
    actual = _bodies(rewrite(_load(relative), PLAN).message)
    golden = GOLDEN / f"{name}.txt"
    if os.environ.get("SIGRELAY_UPDATE_GOLDEN") == "1" or not golden.exists():
        golden.write_text(actual, encoding="utf-8")
    assert actual == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "separator",
    [
        "Am 12.03.2026 um 10:00 schrieb Hans Meier <h@example.de>:",
        "Le 12 mars 2026 à 10:00, Jean Dupont <j@example.fr> a écrit :",
        "El 12 mar 2026, a las 10:00, Ana <a@example.es> escribió:",
        "Il giorno 12 mar 2026, alle ore 10:00, Luca <l@example.it> ha scritto:",
        "Op 12 mrt. 2026 om 10:00 schreef Jan <j@example.nl>:",
        "On Thu, Mar 12, 2026 at 10:00 AM Bob <b@example.com> wrote:",
    ],
)
def test_localised_attribution_lines_start_the_quote(separator):
    raw = message(f"Neue Antwort\r\n\r\n{separator}\r\n> alter Text\r\n")
    out = body_of(rewrite(raw, PLAN).message, "text/plain")
    assert out.index("-- \r\nJane Roe") < out.index(separator)


@pytest.mark.parametrize(
    "block",
    [
        "Von: Hans Meier\r\nGesendet: Montag, 12. März 2026 10:00\r\nAn: Anna\r\nBetreff: Angebot",
        "De : Jean\r\nEnvoyé : lundi 12 mars 2026 10:00\r\nÀ : Anna\r\nObjet : Offre",
        "De: Ana\r\nEnviado: lunes\r\nPara: Anna\r\nAsunto: Oferta",
        "Da: Luca\r\nInviato: lunedì\r\nA: Anna\r\nOggetto: Offerta",
        "Van: Jan\r\nVerzonden: maandag\r\nAan: Anna\r\nOnderwerp: Aanbod",
        "-----Original Message-----\r\nFrom: Bob\r\nSent: Monday",
        "-----Ursprüngliche Nachricht-----\r\nVon: Hans",
    ],
)
def test_outlook_header_blocks_start_the_quote(block):
    raw = message(f"Neue Antwort\r\n\r\n{block}\r\n\r\nalter Text\r\n")
    out = body_of(rewrite(raw, PLAN).message, "text/plain")
    assert out.index("Jane Roe") < out.index(block.split("\r\n")[0])


def test_bottom_posted_reply_gets_the_signature_at_the_end():
    raw = message("On Mon, Bob wrote:\r\n> question?\r\n\r\nanswer.\r\n")
    assert body_of(rewrite(raw, PLAN).message, "text/plain").endswith(
        "Jane Roe\r\nExample GmbH\r\nhttps://example.com/team\r\n"
    )


def test_reply_uses_the_reply_signature_when_configured():
    raw = message("Short answer\r\n\r\nOn Mon, Bob wrote:\r\n> q\r\n")
    out = body_of(rewrite(raw, make_plan(reply_signature=REPLY_SIGNATURE)).message, "text/plain")
    assert "Jane R. (reply)" in out and "Example GmbH" not in out


def test_new_message_uses_the_full_signature_even_with_a_reply_variant():
    out = body_of(
        rewrite(message("New\r\n"), make_plan(reply_signature=REPLY_SIGNATURE)).message,
        "text/plain",
    )
    assert "Example GmbH" in out


def test_placeholder_is_replaced_by_the_signature():
    raw = message("Hi\r\n\r\n{signature}\r\n\r\nP.S. more text\r\n")
    out = body_of(
        rewrite(raw, make_plan(placeholder="{signature}", link_mode=LinkMode.NONE)).message,
        "text/plain",
    )
    assert "{signature}" not in out and out.index("Jane Roe") < out.index("P.S.")


def test_message_already_carrying_our_signature_is_not_signed_twice():
    once = rewrite(message("Hi\r\n"), PLAN).message.replace(b"X-Sigrelay-Processed: 1\r\n", b"")
    result = rewrite(once, PLAN)
    assert (result.outcome, result.reason, result.message) == (
        Outcome.SKIPPED,
        "already-signed",
        once,
    )


def test_our_signature_in_the_quote_does_not_count_as_signed():
    raw = message(
        "New answer\r\n\r\nOn Mon, Bob wrote:\r\n> Jane Roe\r\n> Example GmbH\r\n> https://example.com/team\r\n"
    )
    assert rewrite(raw, PLAN).outcome is Outcome.REWRITTEN


@pytest.mark.parametrize(
    "quote",
    [
        '<hr id="stopSpelling">Date: Mon<br>From: Bob<br><br>old text',  # Hotmail
        '<div id="x_divRplyFwdMsg"><b>From:</b> Bob<br><b>Sent:</b> Mon</div>old text',
        '<div id="divRplyFwdMsg"><b>Von:</b> Bob<br><b>Gesendet:</b> Montag</div>old text',
        '<div class="ydp9b1f0a55yahoo_quoted"><div>On Mon, Bob wrote:</div>old text</div>',
        '<div class="moz-forward-container">-------- Forwarded Message --------old text</div>',
        '<div style="padding-top: 5px; border-top-width: 1px; border-top-style: solid;">'
        "<div><b>Von:</b>&nbsp;Bob<br><b>Gesendet:</b>&nbsp;Montag</div></div>old text",
        "<p><b><span>Von:</span></b> Bob<br><b>Gesendet:</b> Montag</p><p>old text</p>",
        "<div>&gt; Von: Bob<br>&gt; Gesendet: Montag<br>&gt; old text</div>",
    ],
)
def test_html_quote_markers_put_the_signature_above_the_whole_quote(quote):
    raw = html_message(f"<div>Neue Antwort</div>{quote}")
    out = body_of(rewrite(raw, PLAN).message, "text/html")
    signature = out.index('<div class="sigrelay-signature">')
    assert out.index("Neue Antwort") < signature
    assert quote in out[signature:]  # whole, below the signature


@pytest.mark.parametrize(
    ("newest", "thread"),
    [
        (  # the sender's last line runs straight into Gmail's attribution
            "This is a link to http://example.com",
            'On Nov 28, 2014 12:36 PM, "Arpit" <a@example.org> wrote:\r\n\r\n> old text',
        ),
        ("Hello", "> On 22 Aug 2015, at 19:21, Adam <a@example.org> wrote:\r\n>\r\n> old text"),
        (  # an attribution in a language we have no words for: address, date, colon
            "Pozdrawiam,\r\nJan",
            "Dnia 28 lutego 2023 14:00 Anna <anna@example.com> napisał(a):\r\n> old text",
        ),
    ],
)
def test_text_attribution_starts_the_quote_not_the_line_above_it(newest, thread):
    out = body_of(rewrite(message(f"{newest}\r\n{thread}\r\n"), PLAN).message, "text/plain")
    assert out.index(newest) < out.index("-- \r\nJane Roe") < out.index(thread)
