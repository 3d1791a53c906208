"""Where the newest text of an HTML body ends: the start of the quoted thread, if any.

The signature of a reply belongs under the sender's new text and above the
quoted thread (what every signature tool's users expect). This module reads
HTML: the markers of Outlook, Gmail, Apple Mail, Thunderbird, Hotmail, Yahoo
and Windows Mail, and the text separators between tags; plain text is in
`text_quotes`.
"""

from __future__ import annotations

import re

from rewriter.html_scan import Tag, is_void, named_tags, tag_ending_at, tag_starting_at
from rewriter.quote_patterns import ATTRIBUTION_VERBS, alternation
from rewriter.text_quotes import FROM_WORDS_PATTERN, SENT_WORDS_PATTERN

_MARKER_IDS = {"divrplyfwdmsg", "olk_src_body_section", "stopspelling", "appendonsend"}
_MARKER_CLASSES = {
    "gmail_quote",
    "gmail_quote_container",
    "moz-cite-prefix",
    "moz-forward-container",
    "yahoo_quoted",
    "protonmail_quote",
    "zmail_extra",
    "domino-section",
}
# Outlook desktop's header-block separator: a div with only a top border.
_OUTLOOK_BORDER = re.compile(r"border:\s*none;\s*border-top:\s*solid\s+#[0-9a-f]{6}\s+1\.0pt", re.I)
_TOP_BORDER = re.compile(r"border-top(?:-style)?\s*:\s*(?:[^;]*\s)?solid", re.I)
_BOLD_HEADER = re.compile(r"<b>\s*[^<>\s][^<>]{0,30}?:\s*</b>", re.I)
_HEADER_REACH = 600
# Outlook on the web prefixes the ids and classes of a message it shows with
# "x_", old Hotmail with "ecx", Yahoo with "ydp" and 8 hex digits; a reply
# quoting such a message keeps them ("x_divRplyFwdMsg", "ydp9b1f0a55yahoo_quoted").
_MARKER_PREFIXES = re.compile(r"^(?:x_|ecx|ydp[0-9a-f]{8})+")

# Speed matters here (issue 4: a 50 KB newsletter must take well under a
# millisecond). Python's regex engine scans fast only for a literal prefix
# (~20 us per 50 KB); a character set or an alternation at the start makes it
# try every position (~10x slower). So each detector is anchored on a literal:
# "<" for marker tags, "---" for "Original Message" rules, and ":" for header
# blocks and attribution lines, which all end in a colon in the text.

# A marker tag: a div/blockquote/hr/span/table whose attributes mention one of
# the markers; `_is_quote_marker` then checks the attribute it must be in.
_MARKER_TAG = re.compile(
    # whole attribute values are skipped, then the hint may lie inside a quoted value
    r"""<(?:div|blockquote|hr|span|table)(?=[\s/>])(?:[^>"']|"[^"]*"|'[^']*')*?["']?[^>"']*?"""
    r"(?:divrplyfwdmsg|olk_src_body_section|stopspelling|appendonsend|gmail_quote|"
    r"moz-cite-prefix|moz-forward-container|yahoo_quoted|protonmail_quote|zmail_extra|domino-section|cite|border-top|"
    r"quote)",
    re.I,
)
_ORIGINAL_MESSAGE = re.compile(
    r"---+\s*(?i:Original\s+Message|Urspr(?:ü|&uuml;)ngliche\s+Nachricht|"
    r"Message\s+d(?:'|&#39;|’)origine|Mensaje\s+original|Messaggio\s+originale|"
    r"Oorspronkelijk\s+bericht|Forwarded\s+message|Weitergeleitete\s+Nachricht)"
)
# A colon in text, not inside a tag: the next angle bracket is not a '>'.
_TEXT_COLON = re.compile(r":(?![^<>]*>)")
# Chinese and Japanese clients write a full-width colon; a character class first
# makes re try every position, so this scan runs only where one occurs.
_TEXT_COLON_WIDE = re.compile(r"[:：](?![^<>]*>)")
# Checked only just before such a colon (search with endpos = the colon).
# Old Outlook and Zimbra bold the word but not its colon: "<b>From</b>: Bob".
_INLINE_TAGS = r"(?:\s*</?(?:b|strong|span|font)(?=[\s>])[^<>]*>)*"
_FROM_BEFORE = re.compile(FROM_WORDS_PATTERN + _INLINE_TAGS + r"\s?\Z")
_SENT_AFTER = re.compile(SENT_WORDS_PATTERN + _INLINE_TAGS + r"\s?[:：]")
_VERB_BEFORE = re.compile(
    r"(?:" + alternation(ATTRIBUTION_VERBS) + r"|a\s+&eacute;crit|escribi&oacute;)[^<>]{0,60}\Z",
    re.I,
)
# No verb we know: an address closing right before the colon ("Bob <b@x>:", in
# HTML "&lt;b@x&gt;:" or "&lt;<a href=...>b@x</a>&gt;:"), and a date on the line.
_ADDRESS_BEFORE = re.compile(r"@[^\s<>&]+(?:</a>)?\s*(?:&gt;|>|\))\s*\Z")
_DATE_IN_TEXT = re.compile(r"\b\d{1,2}[:.]\d{2}\b|\b(?:19|20)\d{2}\b|\d[年月日]")
# Inside an attribution the only markup is around the address: Apple Mail and
# Gmail link it (<a href="mailto:...">, <span dir="ltr">), iOS Mail writes it
# unescaped ("Jane Roe <jane@example.com> wrote:"), which reads as a tag.
_ATTRIBUTION_START = re.compile(
    r"\b(?:On|Am|Le|El|Il|Op)\s"
    r"(?:[^<>]|<[^<>\s@/]+@[^<>\s]+>|</?(?:a|span)(?=[\s>])[^<>]*>){4,300}\Z"
)
# An attribution's colon ends its line (a tag or the end follows): checked first, it
# spares the verb search (two dozen languages, ~3 us) at the colons of running text
# and URLs ("Note: ...", "https://").
_LINE_ENDS_AFTER = re.compile(r"(?:\s|&nbsp;|&#160;)*(?:<|&gt;|\Z)")
_FROM_REACH = 40  # "Från", an optional space or closing "</b></span>", some slack
_VERB_REACH = 80  # the longest verb and the 60 characters allowed before the colon
_ATTRIBUTION_REACH = 300
_SENT_REACH = 600  # the "Sent:" line follows "From:" within this many characters
_TRAILING_HR = re.compile(r"<hr(?=[\s/>])[^>]*>\s*$", re.I)


def _is_quote_marker(document: str, tag: Tag) -> bool:
    if tag.closing:
        return False
    if tag.name == "blockquote":
        attributes = tag.attributes()
        return attributes.get("type", "").lower() == "cite"
    if tag.name not in ("div", "hr", "span", "table"):
        return False
    attributes = tag.attributes()
    if _MARKER_PREFIXES.sub("", attributes.get("id", "").lower()) in _MARKER_IDS:
        return True
    # GMX, web.de and mail.com wrap the quoted message in <div name="quote">.
    if tag.name == "div" and attributes.get("name", "").lower() == "quote":
        return True
    classes = attributes.get("class", "").lower().split()
    if _MARKER_CLASSES.intersection(_MARKER_PREFIXES.sub("", name) for name in classes):
        return True
    if tag.name != "div":
        return False
    style = attributes.get("style", "")
    if _OUTLOOK_BORDER.search(style):
        return True
    # Windows Mail and others: a top border above bold header lines ("<b>Von:</b>").
    return bool(
        _TOP_BORDER.search(style)
        and _BOLD_HEADER.search(document, tag.end, tag.end + _HEADER_REACH)
    )


def html_quote_start(document: str, body_start: int) -> int | None:
    """Offset where the quoted thread begins in an HTML document, or None."""
    marker = _first_marker_tag(document, body_start)
    # Nothing after the first marker matters: search text separators before it only.
    separator = _first_text_separator(
        document, body_start, len(document) if marker is None else marker
    )
    if separator is None:
        return marker
    return separator if marker is None else min(marker, separator)


def _first_marker_tag(document: str, body_start: int) -> int | None:
    names = ("div", "blockquote", "hr", "span", "table")
    position = body_start
    while (found := _MARKER_TAG.search(document, position)) is not None:
        tag_start = found.start()
        position = tag_start + 1
        tag = next(named_tags(document, names, tag_start), None)
        if tag is None or tag.start != tag_start or not _is_quote_marker(document, tag):
            continue
        # Outlook web puts an <hr> just before divRplyFwdMsg: keep it with the quote.
        rule = _TRAILING_HR.search(document, max(body_start, tag_start - 300), tag_start)
        return rule.start() if rule else tag_start
    return None


def _first_text_separator(document: str, body_start: int, end: int) -> int | None:
    found: list[int] = []
    original = _ORIGINAL_MESSAGE.search(document, body_start, end)
    if original:
        found.append(original.start())
        end = original.start()
    colons = _TEXT_COLON_WIDE if document.find("：", body_start, end) >= 0 else _TEXT_COLON
    for colon in colons.finditer(document, body_start, end):
        at = colon.start()
        if found and at - _VERB_REACH - _ATTRIBUTION_REACH > min(found):
            break  # no later separator can begin before the one found
        start = _header_block_at(document, body_start, at)
        if start is None and _LINE_ENDS_AFTER.match(document, at + 1):
            start = _attribution_at(document, body_start, at)
        if start is not None:
            found.append(start)
    if not found:
        return None
    return _quote_block_start(document, body_start, min(found))


def _header_block_at(document: str, body_start: int, colon: int) -> int | None:
    """ "From:" (in any of our languages) ending at `colon`, with "Sent:" soon after."""
    sender = _FROM_BEFORE.search(document, max(body_start, colon - _FROM_REACH), colon)
    if sender is None or document[sender.start() - 1 : sender.start()].isalnum():
        return None  # not a header word, or inside a word ("Code:")
    if _SENT_AFTER.search(document, colon + 1, colon + 1 + _SENT_REACH) is None:
        return None
    return sender.start()


def _attribution_at(document: str, body_start: int, colon: int) -> int | None:
    """ "On ... wrote:" (in any of our languages) ending at `colon`; or a line with
    an address right before the colon and a date ("26.06.2014, 14:41, Bob <b@x>:")."""
    verb = _VERB_BEFORE.search(document, max(body_start, colon - _VERB_REACH), colon)
    if verb is None:
        if not _ADDRESS_BEFORE.search(document, max(body_start, colon - _VERB_REACH), colon):
            return None
        return _line_with_date(document, body_start, colon)
    window_start = max(body_start, verb.start() - _ATTRIBUTION_REACH)
    attribution = _ATTRIBUTION_START.search(document, window_start, verb.start())
    if attribution:
        return attribution.start()
    # No opening word ("Dne ...", "W dniu ...", "Bob <b@x> skrev ..."): the line it is on.
    return _line_with_date(document, body_start, colon, verb_at=verb.start())


def _line_with_date(document: str, body_start: int, colon: int, verb_at: int = -1) -> int | None:
    """The start of the text line ending at `colon`, if that line is short enough for
    an attribution and carries a date (or, with a verb, an address)."""
    start = _line_start(document, body_start, colon if verb_at < 0 else verb_at)
    if colon - start > _ATTRIBUTION_REACH + _VERB_REACH:
        return None
    line = document[start:colon]
    if _DATE_IN_TEXT.search(line) or (verb_at >= 0 and "@" in line):
        return start
    return None


_MAX_WALK = 30  # tags to walk back over; real separators sit within a few


def _quote_block_start(document: str, body_start: int, offset: int) -> int:
    """Where the quoted thread begins, given the offset of its separator text.

    The elements opened right before the separator (no text in between, as in
    Outlook's `<p class=MsoNormal><b><span>From:`) belong to the quote, and so
    does a horizontal rule just above them (Outlook 2003, many webmailers).
    Text before the separator, a <br> or the end of an element stops the walk,
    so the sender's newest text never ends up below the signature.
    """
    start = _opening_tags_before(
        document, body_start, _quoted_lines_start(document, body_start, offset)
    )
    rule = _rule_above(document, body_start, start)
    return start if rule is None else _opening_tags_before(document, body_start, rule)


def _opening_tags_before(document: str, body_start: int, offset: int) -> int:
    start = offset
    for _ in range(_MAX_WALK):
        before = _skip_space_back(document, body_start, start)
        tag = tag_ending_at(document, before, body_start)
        if tag is None or tag.closing or is_void(tag):
            break
        start = tag.start
    return start


_GT_PREFIX = re.compile(r"(?:\s*&gt;)+\s*")
_LINE_BREAKING = {"br", "p", "div", "blockquote", "table", "tr", "td", "li", "pre", "body"}


def _quoted_lines_start(document: str, body_start: int, offset: int) -> int:
    """Hotmail quotes in HTML with "&gt; " lines; a separator on such a line
    takes the quote back to the first of those lines."""
    line = _line_start(document, body_start, offset)
    if not _GT_PREFIX.fullmatch(document, line, offset):
        return offset
    for _ in range(_MAX_WALK):
        rule = tag_ending_at(document, line, body_start)
        if rule is None or rule.name != "br":
            break
        previous = _line_start(document, body_start, rule.start)
        if not document.startswith("&gt;", _skip_space(document, previous)):
            break
        line = previous
    return line


def _line_start(document: str, body_start: int, end: int) -> int:
    """After the last <br> or block tag before `end`."""
    position = end
    for _ in range(_MAX_WALK):
        tag_start = document.rfind("<", body_start, position)
        if tag_start < 0:
            break
        tag = tag_starting_at(document, tag_start)
        if tag is not None and tag.end <= end and tag.name in _LINE_BREAKING:
            return tag.end
        position = tag_start
    return max(position, body_start)


def _skip_space(document: str, position: int) -> int:
    while position < len(document) and document[position].isspace():
        position += 1
    return position


def _rule_above(document: str, body_start: int, offset: int) -> int | None:
    """The start of an <hr> separated from offset only by space and end tags."""
    position = offset
    for _ in range(_MAX_WALK):
        before = _skip_space_back(document, body_start, position)
        tag = tag_ending_at(document, before, body_start)
        if tag is None:
            return None
        if tag.name == "hr" and not tag.closing:
            return tag.start
        if not tag.closing:
            return None
        position = tag.start
    return None


def _skip_space_back(document: str, floor: int, position: int) -> int:
    while position > floor and document[position - 1].isspace():
        position -= 1
    return position
