"""Consent on the recipient's own page (`/u/<token>`, with `privacy.require_consent`).

GDPR Art. 7(1): the controller must be able to show that consent was given;
Art. 7(2) and 4(11): to a clear statement; Art. 7(3): withdrawing is as easy
as giving. So the page shows the statement and one button to give or
withdraw consent, and each click leaves a receipt (tracker/store/optout.py):
when, how (this page and which button), and the version of the statement
shown: a hash of its exact words, so that changing the words changes the
version, and `sigrelay consent export` writes each version's words beside the
receipts. Never more: no IP address, no user agent.

The form carries the version it showed; a POST naming a version we do not
ship (an old page, a forged form) records nothing.
"""

from __future__ import annotations

import hashlib
from html import escape
from types import MappingProxyType

GIVE, WITHDRAW = "give", "withdraw"
HOW = MappingProxyType(
    {GIVE: "optout-page:give-consent-button", WITHDRAW: "optout-page:withdraw-consent-button"}
)

STATEMENTS = MappingProxyType(
    {
        "en": (
            "I agree that the e-mails I receive from this company may tell it, linked to my "
            "address, when I open them and which links I follow, so that it can measure its "
            "campaigns. I can withdraw this consent on this page at any time; from then on, "
            "also for e-mails I already have."
        ),
        "de": (
            "Ich willige ein, dass die E-Mails, die ich von diesem Unternehmen erhalte, ihm "
            "mit meiner Adresse verknüpft zeigen, wann ich sie öffne und welchen Links ich "
            "folge, damit es seine Kampagnen messen kann. Ich kann diese Einwilligung "
            "jederzeit auf dieser Seite widerrufen; ab dann auch für E-Mails, die ich schon habe."
        ),
        "fr": (
            "J'accepte que les e-mails que je reçois de cette entreprise lui indiquent, liés à "
            "mon adresse, quand je les ouvre et quels liens je suis, afin qu'elle puisse mesurer "
            "ses campagnes. Je peux retirer ce consentement sur cette page à tout moment ; dès "
            "lors, aussi pour les e-mails que j'ai déjà."
        ),
    }
)
BUTTONS = MappingProxyType(
    {
        "en": {GIVE: "I agree", WITHDRAW: "Withdraw my consent"},
        "de": {GIVE: "Ich willige ein", WITHDRAW: "Einwilligung widerrufen"},
        "fr": {GIVE: "J'accepte", WITHDRAW: "Retirer mon consentement"},
    }
)
DONE = MappingProxyType(
    {
        "en": {
            GIVE: "Thank you. Your consent is recorded.",
            WITHDRAW: "Your consent is withdrawn, from now on also for e-mails you already have.",
        },
        "de": {
            GIVE: "Danke. Ihre Einwilligung ist gespeichert.",
            WITHDRAW: "Ihre Einwilligung ist widerrufen, ab jetzt auch für E-Mails, die Sie "
            "schon haben.",
        },
        "fr": {
            GIVE: "Merci. Votre consentement est enregistré.",
            WITHDRAW: "Votre consentement est retiré, désormais aussi pour les e-mails que "
            "vous avez déjà.",
        },
    }
)
STATUS = MappingProxyType(
    {
        "en": {True: "You have given your consent.", False: "You have not given your consent."},
        "de": {True: "Sie haben eingewilligt.", False: "Sie haben nicht eingewilligt."},
        "fr": {
            True: "Vous avez donné votre consentement.",
            False: "Vous n'avez pas donné votre consentement.",
        },
    }
)


def text_version(text: str) -> str:
    """`sha256:` and the first 32 hex characters of the statement's SHA-256."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


VERSIONS = MappingProxyType({text_version(text): text for text in STATEMENTS.values()})


def consent_form(lang: str, consented: bool) -> str:
    """The statement and one button: give consent, or withdraw it."""
    statement = STATEMENTS.get(lang, STATEMENTS["en"])
    words = BUTTONS.get(lang, BUTTONS["en"])
    status = STATUS.get(lang, STATUS["en"])[consented]
    action = WITHDRAW if consented else GIVE
    return (
        f"<section class=consent><p>{escape(statement)}</p><p class=note>{escape(status)}</p>"
        f'<form method="post"><input type="hidden" name="version" '
        f'value="{text_version(statement)}">'
        f'<button type="submit" name="consent" value="{action}">{escape(words[action])}</button>'
        "</form></section>"
    )


def done_text(lang: str, action: str) -> str:
    return DONE.get(lang, DONE["en"])[action]
