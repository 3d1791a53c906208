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
from collections.abc import Callable
from email.message import Message
from types import MappingProxyType
from typing import NamedTuple

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


def newest_text(message: bytes, *, read_whole: bool = False) -> str:
    """The newest text of a whole message: its plain-text body (else its HTML
    body) above the quote; "" when there is none or it cannot be read.

    Parsed with the compat32 policy: it builds no header objects, which the
    default policy does for every header it is asked about (several times the
    cost, and planning pays it for every message of a multilingual group).
    Only the message's beginning is parsed when that settles it: the plain-text
    body comes first, and detection reads only its first characters, while the
    parse costs in proportion to the whole message (attachments included).
    `read_whole`: the plain reading, the whole message by the email parser;
    the same first characters, slower (the tests hold the two together)."""
    if read_whole:
        found = _newest_text_of(_parsed_whole, message)
        return found.newest if found is not None else ""
    start = _beginning(message)
    if start is not None:
        found = _newest_text_of(_parsed, start)
        # Settled by a plain-text body read whole (another part follows it), or
        # whose quote begins inside what was read, or whose newest text is
        # longer than detection reads anyway. An HTML body is not: a plain-text
        # one may follow, and it would be preferred.
        if found is not None and found.kind == "plain":
            newest = found.newest
            if found.followed or len(newest) < found.length or len(newest) >= _MAX_CHARS:
                return newest
    found = _newest_text_of(_parsed, message)
    return found.newest if found is not None else ""


# How much of the body is parsed first: the plain-text body's first _MAX_CHARS
# characters fit as they are or base64-encoded (4/3); a longer encoding (quoted-
# printable, up to 3x) may not, and the whole message is read then.
_BEGINNING_BYTES = 8 * 1024


def _beginning(message: bytes) -> bytes | None:
    """The headers and the body's first _BEGINNING_BYTES, cut at a line end
    (a base64 line stays whole); None when the message is no longer than that."""
    body_start = _body_start(message)
    if body_start is None or len(message) <= body_start + _BEGINNING_BYTES:
        return None
    cut = message.rfind(b"\n", body_start, body_start + _BEGINNING_BYTES)
    return message[: cut + 1] if cut >= 0 else None


def _body_start(message: bytes) -> int | None:
    """Where the body begins: after the first empty line (CRLF or LF endings)."""
    body_start = None
    limit = len(message)
    for separator in (b"\r\n\r\n", b"\n\n", b"\n\r\n"):
        # Each later search stops where an earlier one found the headers' end:
        # a separator a message lacks is not looked for through its attachments.
        found = message.find(separator, 0, limit)
        if found >= 0:
            body_start = found + len(separator)
            limit = found + len(separator) - 1
    return body_start


def _parsed_whole(message: bytes) -> Message:
    return email.message_from_bytes(message, policy=email.policy.compat32)


def _parsed(message: bytes) -> Message:
    """The message (compat32). A single-part one has only its headers parsed
    and its body set as it is: the parser reads a body line by line in Python,
    most of its cost, only to join the lines again."""
    body_start = _body_start(message)
    if body_start is not None:
        head = email.message_from_bytes(message[:body_start], policy=email.policy.compat32)
        # A multipart or message/* body has parts to find; a header block the
        # parser ended early (a line that is no header) is left to the parser.
        if head.get_content_maintype() not in ("multipart", "message") and not head.defects:
            # As the parser keeps a body: bytes as ASCII with surrogate escapes.
            head.set_payload(message[body_start:].decode("ascii", "surrogateescape"))
            return head
    return _parsed_whole(message)


class _BodyText(NamedTuple):
    kind: str  # plain | html
    followed: bool  # another part comes after the body part: it was read whole
    length: int  # of the body's text, with line ends as the newest text has them
    newest: str


def _newest_text_of(parse: Callable[[bytes], Message], message: bytes) -> _BodyText | None:
    """The body part's newest text, and what says whether it was read whole."""
    try:
        parsed = parse(message)
        part = _body_part(parsed)
        if part is None:
            return None
        *_, last = parsed.walk()
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            return None
        charset = part.get_content_charset() or "utf-8"
        try:
            content = payload.decode(charset, "replace")
        except LookupError:  # an unknown charset name: read it as UTF-8
            content = payload.decode("utf-8", "replace")
    except Exception:  # noqa: BLE001 - a message we cannot read has no language to tell
        return None
    kind = part.get_content_subtype()
    newest = newest_text_of_body(content, kind == "html")
    # Line ends as the newest text has them (a plain body's CRLFs become LFs).
    length = len(content) if kind == "html" else len(content.replace("\r\n", "\n"))
    return _BodyText(kind, part is not last, length, newest)


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
