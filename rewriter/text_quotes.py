"""Where the newest text of a plain-text body ends: the start of the quoted thread.

quotequail's patterns cover the attribution and forward lines of many
clients and languages; we add Outlook's localised header blocks, Italian,
attributions in any language (an address and a date right above "> " lines),
and tell top-posted replies from interleaved and bottom-posted ones.
"""

from __future__ import annotations

import re

from quotequail._patterns import COMPILED_PATTERN_MAP

# The sender and date fields of a quoted header block, in our users' languages;
# shared with the HTML reader.
FROM_WORDS = r"(?:From|Von|De|Da|Van|Från|Fra|Od)"
SENT_WORDS = (
    r"(?:Sent|Date|Gesendet|Datum|Envoyé|Enviado|Inviato|Verzonden|Fecha|Data|Skickat|Sendt|"
    r"Wysłano)"
)

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
_HEADER_LINE = re.compile(r"^\*?" + FROM_WORDS + r" ?:\*?\s+\S")  # French: "De :"
_SENT_LINE = re.compile(r"^\*?" + SENT_WORDS + r" ?:\*?\s+\S")
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
