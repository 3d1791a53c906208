"""Pipeline steps that decide whether and where to write: skip, locate, place, neutralise."""

from __future__ import annotations

import re

from rewriter import malformed
from rewriter.body import BodyPart, EditableText, Kind
from rewriter.draft import Draft, RewriteSkipped
from rewriter.html_scan import visible_text
from rewriter.mime import Part, charset_of
from rewriter.placement import html_quote_start
from rewriter.plan import MARKER_HEADER, SKIP_HEADER
from rewriter.text_quotes import text_quote_start
from rewriter.transfer import Undecodable, decode_body

# Content types whose presence anywhere means: hands off, byte for byte.
_SKIP_TYPES = {
    "multipart/signed": "signed",
    "application/pkcs7-mime": "signed",
    "application/x-pkcs7-mime": "signed",
    "multipart/encrypted": "encrypted",
    "application/pgp-encrypted": "encrypted",
    "text/calendar": "calendar",
    "application/ics": "calendar",
    "multipart/report": "report",
    "message/partial": "partial",
}
_INNER_CALENDAR = re.compile(rb"(?im)^content-type:\s*(?:text/calendar|application/ics)")
_TEXT_TYPES = {"text/plain": Kind.TEXT, "text/html": Kind.HTML}


def detect_skip(draft: Draft) -> None:
    """Leave alone what we must not touch: marked, signed, encrypted, invitations, machines."""
    headers = draft.root.headers
    if not headers.keys():
        raise RewriteSkipped("no-headers")  # not an RFC 5322 message: pass it on as it came
    if draft.root.fields_end == draft.root.body_start:
        raise RewriteSkipped("no-body")  # header only: no blank line, nothing to sign
    if headers.get(MARKER_HEADER) is not None:
        raise RewriteSkipped("marker")
    if headers.get(SKIP_HEADER) is not None:
        raise RewriteSkipped("skip-header")
    auto_submitted = headers.get("Auto-Submitted")
    if auto_submitted is not None and str(auto_submitted).strip().lower() != "no":
        raise RewriteSkipped("auto-submitted")
    if headers.get("DKIM-Signature") is not None and not draft.plan.resign_dkim:
        # Changing the body would break the signature; the relay may re-sign.
        raise RewriteSkipped("dkim")
    parts = list(draft.root.walk())
    for part in parts:
        reason = _SKIP_TYPES.get(part.content_type)
        if reason is not None:
            raise RewriteSkipped(reason)
        if part.content_type == "message/rfc822" and _INNER_CALENDAR.search(
            draft.message, part.body_start, part.end
        ):
            raise RewriteSkipped("calendar")  # a forwarded invitation still is one
    if any(part.malformed for part in parts):
        # Fail safe where readers may disagree; sign where they all read it alike.
        reason = malformed.skip_reason(draft.message, draft.root, _body_parts(draft.root))
        if reason is not None:
            raise RewriteSkipped(reason)


def locate_body_parts(draft: Draft) -> None:
    """Find the parts a reader sees as the message text and decode them."""
    for part in _body_parts(draft.root):
        charset = charset_of(part)
        try:
            text = decode_body(
                draft.message[part.body_start : part.end], part.transfer_encoding, charset
            )
        except Undecodable:
            continue  # left as it is; the other body parts may still be signed
        if "-----BEGIN PGP " in text:
            raise RewriteSkipped("pgp-inline")
        kind = _TEXT_TYPES[part.content_type]
        flowed = str(part.headers.get_param("format", "")).lower() == "flowed"
        draft.bodies.append(
            BodyPart(part, kind, EditableText(text), charset, part.transfer_encoding, flowed)
        )
    if not draft.bodies:
        raise RewriteSkipped("no-body")
    headers = draft.root.headers
    draft.is_reply = bool(headers.get("In-Reply-To") or headers.get("References"))


def _body_parts(part: Part) -> list[Part]:
    """Body parts by RFC 2046 semantics, never attachments or attached messages."""
    content_type = part.content_type
    if part.is_attachment and not part.is_multipart:
        return []
    if part.header_only and part.depth > 0:
        return []  # no blank line: text written there would be read as header fields
    if content_type in _TEXT_TYPES:
        return [part]
    if content_type == "multipart/alternative":
        # Every rendering of the body gets the signature (text and HTML).
        found: list[Part] = []
        for child in part.children:
            found.extend(_body_parts(child))
        return found
    if content_type == "multipart/related":
        return _body_parts(_related_root(part)) if part.children else []
    if part.is_multipart and content_type != "multipart/digest":
        for child in part.children:  # mixed and unknown: the first body only
            found = _body_parts(child)
            if found:
                return found
    return []


def _related_root(part: Part) -> Part:
    start = part.headers.get_param("start")
    if start:
        for child in part.children:
            if str(child.headers.get("Content-ID", "")).strip() == str(start).strip():
                return child
    first = part.children[0]
    if first.content_type.startswith(("text/", "multipart/")):
        return first
    # MHTML and some webmailers put the images first and name no start part.
    return next((c for c in part.children if c.content_type == "text/html"), first)


def find_newest_text(draft: Draft) -> None:
    """Mark where the newest text ends (above the quoted thread) in each body part."""
    for body in draft.bodies:
        text = body.content.text
        if body.kind is Kind.HTML:
            start, end = _html_body_bounds(text)
            quote = html_quote_start(text, start)
        else:
            start, end = 0, len(text)
            quote = text_quote_start(text)
        marks = body.content.marks
        marks[BodyPart.BODY_START], marks[BodyPart.BODY_END] = start, end
        if quote is not None and quote < end:
            marks[BodyPart.QUOTE_START] = quote
            draft.is_reply = True
        marks[BodyPart.ANCHOR] = quote if quote is not None and quote < end else end
    if any(_already_signed(draft, body) for body in draft.bodies):
        raise RewriteSkipped("already-signed")


_BODY_OPEN = re.compile(r"<body(?=[\s/>])(?:[^>\"']|\"[^\"]*\"|'[^']*')*>", re.I)
_DOCUMENT_END = re.compile(r"</(?:body|html)\s*>", re.I)


def _html_body_bounds(document: str) -> tuple[int, int]:
    """After <body ...> and before the first </body> (or </html>), else the whole text."""
    opening = _BODY_OPEN.search(document)
    start = opening.end() if opening else 0
    closing = _DOCUMENT_END.search(document, start)
    return start, closing.start() if closing else len(document)


def _normalised(text: str) -> str:
    return "".join(text.split()).casefold()


# Words of our signature (ASCII letters and digits, three or more): each must be
# in the raw newest text for the signature to be there, unless markup or an
# entity splits a word, which mail clients do not do inside words. Checking them
# first spares the full comparison (~0.5 ms on a 50 KB message) on almost all mail.
_WORD = re.compile(r"[0-9a-z]{3,}")


def _already_signed(draft: Draft, body: BodyPart) -> bool:
    """Our signature (or the reply variant) already in the newest text: never twice."""
    newest = body.content.text[body.mark(BodyPart.BODY_START) : body.mark(BodyPart.ANCHOR)]
    lowered: str | None = None
    for signature in (draft.plan.signature, draft.plan.reply_signature):
        if signature is None:
            continue
        ours = visible_text(signature.html) if body.kind is Kind.HTML else signature.text
        needle = _normalised(ours)
        if not needle:
            continue
        if lowered is None:
            lowered = newest.lower()
        words = sorted(set(_WORD.findall(ours.lower())), key=len, reverse=True)
        if not all(word in lowered for word in words):
            continue
        visible = visible_text(newest) if body.kind is Kind.HTML else newest
        if needle in _normalised(visible):
            return True
    return False
