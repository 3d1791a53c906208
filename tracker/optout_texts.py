"""The opt-out page's words, in the languages we ship (English, German).

The language follows the browser's Accept-Language (RFC 9110 12.5.4):
the highest-weighted language we have, else English.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True)
class Texts:
    lang: str
    title: str  # without a company name ([company] name empty)
    intro: str
    # With the company's name in place of {company} (str.replace, not format:
    # a name may hold braces).
    company_title: str
    company_intro: str
    choices: MappingProxyType  # anonymous | untracked -> label
    opt_in: str
    status: MappingProxyType  # anonymous | untracked | in -> what holds now
    confirm: str
    done: MappingProxyType  # anonymous | untracked | in -> confirmation
    error_title: str
    bad_link: str
    unknown_copy: str
    try_later: str
    no_choice: str


TEXTS = MappingProxyType(
    {
        "en": Texts(
            lang="en",
            title="Tracking of our e-mails",
            intro=(
                "Our e-mails to you can contain images and links that tell us when a message "
                "was opened or a link followed. Choose what you allow:"
            ),
            company_title="Tracking of e-mails from {company}",
            company_intro=(
                "E-mails from {company} to you can contain images and links that tell "
                "{company} when a message was opened or a link followed. Choose what you allow:"
            ),
            choices=MappingProxyType(
                {
                    "anonymous": "Count me only anonymously (never linked to me)",
                    "untracked": "Do not track me at all",
                }
            ),
            opt_in="Track me again as before",
            status=MappingProxyType(
                {
                    "anonymous": "Right now you are counted only anonymously.",
                    "untracked": "Right now you are not tracked at all.",
                    "in": "Right now our e-mails to you may be tracked.",
                }
            ),
            confirm="Confirm",
            done=MappingProxyType(
                {
                    "anonymous": (
                        "Done. From now on, also in e-mails you already have, "
                        "you are counted only anonymously."
                    ),
                    "untracked": (
                        "Done. From now on, also in e-mails you already have, "
                        "you are not tracked at all."
                    ),
                    "in": "Done. Our e-mails to you may be tracked again.",
                }
            ),
            error_title="Link not valid",
            bad_link="This link is not valid. Please use the link from the original e-mail.",
            unknown_copy="We cannot find the e-mail this link belongs to.",
            try_later="This cannot be done right now. Please try again in a few minutes.",
            no_choice="Please choose one of the options.",
        ),
        "de": Texts(
            lang="de",
            title="Auswertung unserer E-Mails",
            intro=(
                "Unsere E-Mails an Sie können Bilder und Links enthalten, die uns zeigen, wann "
                "eine Nachricht geöffnet oder ein Link aufgerufen wurde. Wählen Sie, was Sie "
                "erlauben:"
            ),
            company_title="Auswertung der E-Mails von {company}",
            company_intro=(
                "E-Mails von {company} an Sie können Bilder und Links enthalten, die {company} "
                "zeigen, wann eine Nachricht geöffnet oder ein Link aufgerufen wurde. Wählen "
                "Sie, was Sie erlauben:"
            ),
            choices=MappingProxyType(
                {
                    "anonymous": "Nur anonym zählen (nie mit mir verknüpft)",
                    "untracked": "Überhaupt nicht auswerten",
                }
            ),
            opt_in="Wieder wie zuvor auswerten",
            status=MappingProxyType(
                {
                    "anonymous": "Derzeit werden Sie nur anonym gezählt.",
                    "untracked": "Derzeit werden Sie überhaupt nicht ausgewertet.",
                    "in": "Derzeit können unsere E-Mails an Sie ausgewertet werden.",
                }
            ),
            confirm="Bestätigen",
            done=MappingProxyType(
                {
                    "anonymous": (
                        "Erledigt. Ab jetzt zählen wir Sie nur anonym, "
                        "auch in E-Mails, die Sie schon haben."
                    ),
                    "untracked": (
                        "Erledigt. Ab jetzt werten wir nichts aus, "
                        "auch in E-Mails, die Sie schon haben."
                    ),
                    "in": "Erledigt. Unsere E-Mails an Sie können wieder ausgewertet werden.",
                }
            ),
            error_title="Link ungültig",
            bad_link="Dieser Link ist ungültig. Bitte nutzen Sie den Link aus der E-Mail.",
            unknown_copy="Wir finden die E-Mail nicht, zu der dieser Link gehört.",
            try_later="Das geht gerade nicht. Bitte versuchen Sie es in einigen Minuten erneut.",
            no_choice="Bitte wählen Sie eine der Möglichkeiten.",
        ),
    }
)


def named(texts: Texts, company: str) -> tuple[str, str]:
    """The page's title and introduction, naming the company when it has a name."""
    if not company.strip():
        return texts.title, texts.intro
    name = company.strip()
    return (
        texts.company_title.replace("{company}", name),
        texts.company_intro.replace("{company}", name),
    )


def language_for(accept_language: str | None) -> str:
    """The best of our languages for an Accept-Language header."""
    best, best_q = DEFAULT_LANGUAGE, 0.0
    for position, item in enumerate((accept_language or "").split(",")):
        tag, _, params = item.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        # Equal weights: the earlier one wins (a tiny penalty by position).
        q -= position * 1e-6
        if primary in TEXTS and q > best_q:
            best, best_q = primary, q
    return best
