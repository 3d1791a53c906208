"""The language of a message's newest text: a cheap guess by stop words.

Pure: bytes in, a language code (or None) out. The newest text is what the
sender wrote above the quoted thread, found by the same quote detection the
signature placement uses (`text_quotes`, `placement`: the separators of two
dozen languages). Its language is the one whose most frequent function words
("the", "und", "les", ...) it uses most; a text with too few of them (a
greeting, a name, Lorem ipsum, an empty forward) gets None, and the caller
falls back to the group's default. Counting words in a few thousand characters
costs well under a millisecond; no model, no dependency.
"""

from __future__ import annotations

import email
import email.policy
import html
import re
from email.message import Message
from types import MappingProxyType

from rewriter.placement import html_quote_start
from rewriter.text_quotes import text_quote_start


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Frequent function words, chosen to tell the languages apart: a word common to
# two of them (fr/es "de", de/nl "in") counts for both and decides nothing.
STOP_WORDS = MappingProxyType(
    {
        "en": _words(
            "the and is are was were you your we our this that with for have has not "
            "will would can could please thanks thank it of to be on at from i as do "
            "if but all any let know me my just"
        ),
        "de": _words(
            "der die das und ist sind ich wir sie ihr nicht mit für auf den dem des ein "
            "eine einen zu von bitte danke vielen gruß grüße schöne haben habe wird "
            "werden kann können noch auch aber wie was oder uns ihnen mir dass"
        ),
        "fr": _words(
            "le la les et est sont je nous vous il elle pas avec pour sur dans des une "
            "un du au aux merci bonjour cordialement bien votre vos notre nos que qui "
            "ce cette mais ou être avoir peux pouvez très"
        ),
        "es": _words(
            "el los las y es son yo nosotros usted con para por una uno del al gracias "
            "hola saludos su sus nuestro que pero muy está están puede tiene"
        ),
        "it": _words(
            "il lo gli e è sono io noi lei con per una uno del della dei grazie ciao "
            "saluti suo sua nostro che ma molto può ha hanno non sei"
        ),
        "nl": _words(
            "de het een en is zijn ik wij jij je u niet met voor op van dank bedankt "
            "groeten uw ons onze dat maar ook heeft hebben kan wordt"
        ),
        "pt": _words(
            "o os as e é são eu nós você com para por uma um do da dos obrigado "
            "obrigada olá seu sua nosso que mas muito está pode tem não"
        ),
    }
)
# Below this many stop words, or without this lead over the runner-up, no answer.
MIN_HITS = 3
MIN_LEAD = 1.5
_MAX_CHARS = 4000  # the newest text's first characters say enough, and cost bounded
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_TAG = re.compile(r"<[^>]*>")
_SKIPPED = re.compile(r"(?is)<(script|style|head)\b.*?</\1\s*>")


def _languages_of_words() -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    for language, words in STOP_WORDS.items():
        for word in words:
            found.setdefault(word, []).append(language)
    return {word: tuple(languages) for word, languages in found.items()}


# One look-up per word instead of one per word and language (planning pays it per message).
_LANGUAGES_OF = _languages_of_words()


def detect_language(text: str) -> str | None:
    """The language whose stop words `text` uses most, if clearly; else None."""
    counts = dict.fromkeys(STOP_WORDS, 0)
    languages_of = _LANGUAGES_OF
    for word in _WORD.findall(text[:_MAX_CHARS].casefold()):
        for language in languages_of.get(word, ()):
            counts[language] += 1
    ranked = sorted(counts.items(), key=lambda item: item[1], reverse=True)
    (best, hits), (_, runner_up) = ranked[0], ranked[1]
    if hits < MIN_HITS or hits < MIN_LEAD * runner_up:
        return None
    return best


def newest_text_of_body(body: str, is_html: bool) -> str:
    """The text above the quoted thread of one body (plain text or HTML), as words."""
    if is_html:
        quote = html_quote_start(body, 0)
        body = body[:quote] if quote is not None else body
        return html.unescape(_TAG.sub(" ", _SKIPPED.sub(" ", body)))
    quote = text_quote_start(body.replace("\r\n", "\n"))
    text = body.replace("\r\n", "\n")
    return text[:quote] if quote is not None else text


def newest_text(message: bytes) -> str:
    """The newest text of a whole message: its plain-text body (else its HTML
    body) above the quote; "" when there is none or it cannot be read.

    Parsed with the compat32 policy: it builds no header objects, which the
    default policy does for every header it is asked about (several times the
    cost, and planning pays it for every message of a multilingual group)."""
    try:
        parsed = email.message_from_bytes(message, policy=email.policy.compat32)
        part = _body_part(parsed)
        if part is None:
            return ""
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            return ""
        charset = part.get_content_charset() or "utf-8"
        try:
            content = payload.decode(charset, "replace")
        except LookupError:  # an unknown charset name: read it as UTF-8
            content = payload.decode("utf-8", "replace")
    except Exception:  # noqa: BLE001 - a message we cannot read has no language to tell
        return ""
    return newest_text_of_body(content, part.get_content_subtype() == "html")


def _body_part(message: Message) -> Message | None:
    """The first text/plain part that is not an attachment, else the first text/html."""
    found: dict[str, Message] = {}
    for part in message.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        kind = part.get_content_type()
        if kind in ("text/plain", "text/html") and kind not in found:
            found[kind] = part
    return found.get("text/plain") or found.get("text/html")


def message_language(message: bytes) -> str | None:
    """The detected language of the message's newest text, or None."""
    return detect_language(newest_text(message))
