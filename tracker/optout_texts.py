"""The opt-out page's words, in the languages we ship (English, German, French).

The language is the copy's, named by the link (`?lang=de`, made by the relay
with the opt-out line under the signature, config/languages.py); without one,
the browser's Accept-Language (RFC 9110 12.5.4): the highest-weighted
language we have, else English.
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
        "fr": Texts(
            lang="fr",
            title="Suivi de nos e-mails",
            intro=(
                "Nos e-mails peuvent contenir des images et des liens qui nous indiquent quand un "
                "message a été ouvert ou un lien suivi. Choisissez ce que vous autorisez :"
            ),
            company_title="Suivi des e-mails de {company}",
            company_intro=(
                "Les e-mails de {company} peuvent contenir des images et des liens qui "
                "indiquent à {company} quand un message a été ouvert ou un lien suivi. "
                "Choisissez ce que vous autorisez :"
            ),
            choices=MappingProxyType(
                {
                    "anonymous": "Me compter seulement de façon anonyme (jamais lié à moi)",
                    "untracked": "Ne pas me suivre du tout",
                }
            ),
            opt_in="Me suivre de nouveau comme avant",
            status=MappingProxyType(
                {
                    "anonymous": "Actuellement, vous êtes compté seulement de façon anonyme.",
                    "untracked": "Actuellement, vous n'êtes pas suivi du tout.",
                    "in": "Actuellement, nos e-mails peuvent être suivis.",
                }
            ),
            confirm="Confirmer",
            done=MappingProxyType(
                {
                    "anonymous": (
                        "C'est fait. Désormais, y compris dans les e-mails que vous avez déjà, "
                        "vous êtes compté seulement de façon anonyme."
                    ),
                    "untracked": (
                        "C'est fait. Désormais, y compris dans les e-mails que vous avez déjà, "
                        "vous n'êtes plus suivi du tout."
                    ),
                    "in": "C'est fait. Nos e-mails peuvent de nouveau être suivis.",
                }
            ),
            error_title="Lien non valide",
            bad_link="Ce lien n'est pas valide. Veuillez utiliser le lien de l'e-mail d'origine.",
            unknown_copy="Nous ne trouvons pas l'e-mail auquel ce lien appartient.",
            try_later="Impossible pour le moment. Veuillez réessayer dans quelques minutes.",
            no_choice="Veuillez choisir l'une des options.",
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


def language_for(accept_language: str | None, named: str | None = None) -> str:
    """The language the link names (`?lang=`), if we have it; else the best of
    ours for an Accept-Language header."""
    if named in TEXTS:
        return str(named)
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
