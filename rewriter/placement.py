"""Where the newest text ends: the start of the quoted thread, if any.

The signature of a reply belongs under the sender's new text and above the
quoted thread (what every signature tool's users expect). quotequail's
patterns cover the attribution and forward lines of many clients and
languages; we add the HTML markers of Outlook, Gmail, Apple Mail and
Thunderbird, Outlook's localised header blocks and Italian, and "> " quoting.
"""

from __future__ import annotations

import re

from quotequail._patterns import COMPILED_PATTERN_MAP

from rewriter.html_scan import Tag, is_void, named_tags, tag_ending_at, tag_starting_at

# --- HTML ---------------------------------------------------------------------

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

_FROM = r"(?:From|Von|De|Da|Van|Från|Fra|Od)"
_SENT = (
    r"(?:Sent|Date|Gesendet|Datum|Envoyé|Enviado|Inviato|Verzonden|Fecha|Data|Skickat|Sendt|"
    r"Wysłano)"
)

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
    r"moz-cite-prefix|moz-forward-container|yahoo_quoted|protonmail_quote|zmail_extra|domino-section|cite|border-top)",
    re.I,
)
_ORIGINAL_MESSAGE = re.compile(
    r"---+\s*(?i:Original\s+Message|Urspr(?:ü|&uuml;)ngliche\s+Nachricht|"
    r"Message\s+d(?:'|&#39;|’)origine|Mensaje\s+original|Messaggio\s+originale|"
    r"Oorspronkelijk\s+bericht|Forwarded\s+message|Weitergeleitete\s+Nachricht)"
)
# A colon in text, not inside a tag: the next angle bracket is not a '>'.
_TEXT_COLON = re.compile(r":(?![^<>]*>)")
# Checked only just before such a colon (search with endpos = the colon).
_FROM_BEFORE = re.compile(_FROM + r"\s?\Z")
_SENT_AFTER = re.compile(_SENT + r"\s?:")
_VERB_BEFORE = re.compile(
    r"(?:wrote|schrieb|a\s+écrit|a\s+&eacute;crit|escribió|escribi&oacute;|ha\s+scritto|schreef)"
    r"[^<>]{0,60}\Z"
)
# Inside an attribution the only markup is around the address: Apple Mail and
# Gmail link it (<a href="mailto:...">, <span dir="ltr">), iOS Mail writes it
# unescaped ("Jane Roe <jane@example.com> wrote:"), which reads as a tag.
_ATTRIBUTION_START = re.compile(
    r"\b(?:On|Am|Le|El|Il|Op)\s"
    r"(?:[^<>]|<[^<>\s@/]+@[^<>\s]+>|</?(?:a|span)(?=[\s>])[^<>]*>){4,300}\Z"
)
_FROM_REACH = 8  # "Från" + optional space, and some slack
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
    for colon in _TEXT_COLON.finditer(document, body_start, end):
        at = colon.start()
        if found and at - _VERB_REACH - _ATTRIBUTION_REACH > min(found):
            break  # no later separator can begin before the one found
        start = _header_block_at(document, body_start, at)
        if start is None:
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
    """ "On ... wrote:" (in any of our languages) ending at `colon`."""
    verb = _VERB_BEFORE.search(document, max(body_start, colon - _VERB_REACH), colon)
    if verb is None:
        return None
    window_start = max(body_start, verb.start() - _ATTRIBUTION_REACH)
    attribution = _ATTRIBUTION_START.search(document, window_start, verb.start())
    return attribution.start() if attribution else None


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


# --- plain text ---------------------------------------------------------------

_TEXT_SEPARATORS = [
    re.compile(
        r"^-{2,}\s*(?:Original Message|Ursprüngliche Nachricht|Message d'origine|"
        r"Mensaje original|Messaggio originale|Oorspronkelijk bericht|Forwarded message|"
        r"Weitergeleitete Nachricht|Message transféré)\s*-{2,}",
        re.I,
    ),
    re.compile(r"^Il .{4,300} ha scritto:$", re.S),  # Italian (Apple Mail/Gmail)
    re.compile(r"^On .{4,300}(?<![^\W\d_])wrote:$", re.S),  # also "<addr>wrote:"
    re.compile(r"^Am .{4,300} schrieb .{1,200}:$", re.S),
    re.compile(r"^Le .{4,300} a écrit ?:$", re.S),
    re.compile(r"^El .{4,300} escribió:$", re.S),
    re.compile(r"^Op .{4,300} (?:schreef|geschreven).{0,100}:$", re.S),
]
_HEADER_LINE = re.compile(r"^\*?" + _FROM + r" ?:\*?\s+\S")  # French: "De :"
_SENT_LINE = re.compile(r"^\*?" + _SENT + r" ?:\*?\s+\S")
_QUOTE_LINE = re.compile(r"^\s?>")
# Any language's attribution above a "> " quote carries an address and a date or time
# ("2022年1月1日(金) 9:00 田中太郎 <taro@example.com>:", "ons 4 dec. 2024 kl. 20:42 skrev ...:").
_DATE_OR_TIME = re.compile(r"\b\d{1,2}[:.]\d{2}\b|\b(?:19|20)\d{2}|\d年")
# "-----Oprindelig meddelelse-----": a titled rule, in any language, above a header block.
_RULE_LINE = re.compile(r"_{10,}|-{10,}|-{3,}[^-].{0,60}?-{3,}")


def text_quote_start(text: str) -> int | None:
    """Offset of the first line of the quoted thread in a plain-text body, or None."""
    lines = text.split("\r\n")
    offsets = []
    position = 0
    for line in lines:
        offsets.append(position)
        position += len(line) + 2
    last_text = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        separator = _separator_kind(lines, index)
        if separator == "block":  # Outlook/forward: everything below is the old thread
            return offsets[_include_rule_above(lines, index)]
        if separator == "attribution" or _QUOTE_LINE.match(line):
            first = index + 1 if separator == "attribution" else index
            after = [i for i in range(first, last_text + 1) if lines[i].strip()]
            quoted = [bool(_QUOTE_LINE.match(lines[i])) for i in after]
            if len(quoted) > 1 and not quoted[0]:  # maybe the attribution's wrapped remainder
                quoted = quoted[1:] if all(quoted[1:]) else quoted
            if all(quoted) or not any(quoted):  # top-posted; or the thread is not quoted
                return offsets[index]
            if any(_separator_kind(lines, i) for i in after[1:] if not _QUOTE_LINE.match(lines[i])):
                return offsets[index]  # unquoted older messages further down: still the thread
            return None  # interleaved or bottom-posted: the signature ends the text
    return None


def _separator_kind(lines: list[str], index: int) -> str | None:
    """ "attribution" ("On ... wrote:"), "block" (forward/Outlook header block) or None."""
    line = lines[index].strip()
    if _TEXT_SEPARATORS[0].match(line) or any(
        regex.match(line) for regex in COMPILED_PATTERN_MAP["forward"]
    ):
        return "block"
    for pattern in _TEXT_SEPARATORS[1:]:
        if pattern.match(line) or _wrapped_attribution(lines, index, pattern):
            return "attribution"
    if any(regex.match(line) for regex in COMPILED_PATTERN_MAP["reply"]):
        return "attribution"
    if _introduces_quote(lines, index):
        return "attribution"
    if _HEADER_LINE.match(line):
        following = [candidate.strip() for candidate in lines[index + 1 : index + 4]]
        if any(_SENT_LINE.match(candidate) for candidate in following):
            return "block"
    return None


def _wrapped_attribution(lines: list[str], index: int, pattern: re.Pattern[str]) -> bool:
    """Gmail wraps long "On ... wrote:" lines; accept a match over two or three lines.
    The date is on the first line ("Am heutigen Tage" above an attribution is text)."""
    if not any(character.isdigit() for character in lines[index]):
        return False
    for count in (2, 3):
        joined = " ".join(part.strip() for part in lines[index : index + count])
        if pattern.match(joined):
            return True
    return False


def _introduces_quote(lines: list[str], index: int) -> bool:
    """A line (or two or three, wrapped) with an address and a date, ending in ":",
    right above a "> " quoted block: an attribution in a language we have no words for."""
    if _QUOTE_LINE.match(lines[index]):
        return False
    for count in (1, 2, 3):
        block = [part.strip() for part in lines[index : index + count]]
        if len(block) < count or not all(block) or _QUOTE_LINE.match(lines[index + count - 1]):
            return False
        joined = " ".join(block)
        if joined.endswith(":"):
            if "@" not in joined or not _DATE_OR_TIME.search(joined):
                return False
            if any(_introduces_quote(lines, later) for later in range(index + 1, index + count)):
                return False  # it begins on a later line; this one is the sender's text
            below = next(
                (line for line in lines[index + count : index + count + 3] if line.strip()), ""
            )
            return bool(_QUOTE_LINE.match(below))
    return False


def _include_rule_above(lines: list[str], index: int) -> int:
    """Outlook puts a "____" rule or a titled "-----...-----" line above the header
    block: it belongs to the quote."""
    above = index - 1
    while above >= 0 and not lines[above].strip():
        above -= 1
    if above >= 0 and _RULE_LINE.fullmatch(lines[above].strip()):
        return above
    return index
