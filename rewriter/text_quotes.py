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

# Titled rules above an Outlook/forward header block; with quotequail's forward
# patterns (Apple Mail, Gmail, Thunderbird, Outlook's "____" line) in one regex, so
# a line costs one match, not eighteen. quotequail compiles its patterns without flags.
_OUR_BLOCK_TITLE = (
    r"(?i:^-{2,}\s*(?:Original Message|Ursprüngliche Nachricht|Message d'origine|"
    r"Mensaje original|Messaggio originale|Oorspronkelijk bericht|Forwarded message|"
    r"Weitergeleitete Nachricht|Message transféré)\s*-{2,})"
)
_BLOCK_TITLE = re.compile(
    "|".join([_OUR_BLOCK_TITLE] + [f"(?:{r.pattern})" for r in COMPILED_PATTERN_MAP["forward"]])
)
# "On ... wrote:" in our users' languages, keyed by the word it opens with.
_ATTRIBUTIONS = {
    "Il": r".{4,300} ha scritto:",  # Italian (Apple Mail/Gmail)
    "On": r".{4,300}(?<![^\W\d_])wrote:",  # also "<addr>wrote:"
    "Am": r".{4,300} schrieb .{1,200}:",
    "Le": r".{4,300} a écrit ?:",
    "El": r".{4,300} escribió:",
    "Op": r".{4,300} (?:schreef|geschreven).{0,100}:",
}
_ATTRIBUTION_OPENINGS = tuple(f"{word} " for word in _ATTRIBUTIONS)
_ATTRIBUTION = re.compile(
    "^(?:" + "|".join(f"{word} {rest}" for word, rest in _ATTRIBUTIONS.items()) + ")$", re.S
)
_QUOTEQUAIL_REPLY = re.compile("|".join(f"(?:{r.pattern})" for r in COMPILED_PATTERN_MAP["reply"]))
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
    candidates = candidate_lines(text)
    for index in candidates:
        line = lines[index]
        if not line.strip():
            continue
        separator = _separator_kind(lines, index)
        if separator == "block":  # Outlook/forward: everything below is the old thread
            return _offset(lines, _include_rule_above(lines, index))
        if separator == "attribution" or _QUOTE_LINE.match(line):
            first = index + 1 if separator == "attribution" else index
            if _starts_the_thread(lines, first, candidates):
                return _offset(lines, index)
            return None  # interleaved or bottom-posted: the signature ends the text
    return None


# A line can only be a separator or a quote if it, or one of the two below it (an
# attribution wrapped over up to three lines), ends in ":" -- every attribution
# pattern, quotequail's reply and forward-title patterns, and an address-and-date
# line above a quote do -- or if it starts like a rule ("---", "___"), a Markdown-bold
# or Outlook "From:" header, Gmail's "2024/01/02 ..." (a year and "/", not just any
# digit: smtp-source's 40 KB lines all start with one) or a "> " quote. Two regex
# scans find those few lines in C; the exact checks then run on them alone, so a long
# text without quotes (smtp-source's 2,200 short lines) costs two scans, not 2,200
# checks. `[^\S\n]` is blank space within one line: str.strip() removes it, "\n" ends
# a line. Each scan starts with a literal ("\n", ":"), which re finds fast; "^" with
# re.M would be tried at every position.
_LIKELY_START = r"[^\S\n]*(?:[-_*>]|\d{4}/|" + FROM_WORDS + r" ?:)"
_FIRST_LINE_START = re.compile(_LIKELY_START)
_LATER_LINE_START = re.compile(r"\n" + _LIKELY_START)
_COLON_END = re.compile(r":[^\S\n]*$", re.M)
_WRAPPED_LINES = 3  # attributions wrapped over at most this many lines


def candidate_lines(text: str) -> list[int]:
    """Indexes (ascending) of the lines of `text` (split at CRLF) that may begin a
    separator or be a quote line; every other line is neither."""
    starts = [match.start() + 1 for match in _LATER_LINE_START.finditer(text)]
    if _FIRST_LINE_START.match(text):
        starts.insert(0, 0)
    colons = [match.start() for match in _COLON_END.finditer(text)]
    found: set[int] = set()
    line, scanned = 0, 0
    for position, is_colon in sorted([(p, False) for p in starts] + [(p, True) for p in colons]):
        # Count line ends only since the last position: linear over the whole text.
        line += text.count("\r\n", scanned, position)
        scanned = position
        if is_colon:  # this line may end an attribution that began up to two lines above
            found.update(range(max(0, line - _WRAPPED_LINES + 1), line + 1))
        else:
            found.add(line)
    return sorted(found)


def _starts_the_thread(lines: list[str], first: int, candidates: list[int]) -> bool:
    """Whether the lines from `first` on are the quoted thread (top-posted, or not quoted
    at all), rather than quotes interleaved with or above the newest text."""
    last_text = next((i for i in range(len(lines) - 1, -1, -1) if lines[i].strip()), -1)
    after = [i for i in range(first, last_text + 1) if lines[i].strip()]
    quoted = [bool(_QUOTE_LINE.match(lines[i])) for i in after]
    if len(quoted) > 1 and not quoted[0]:  # maybe the attribution's wrapped remainder
        quoted = quoted[1:] if all(quoted[1:]) else quoted
    if all(quoted) or not any(quoted):  # top-posted; or the thread is not quoted
        return True
    later = (i for i in candidates if after[0] < i <= last_text and lines[i].strip())
    # unquoted older messages further down: still the thread
    return any(_separator_kind(lines, i) for i in later if not _QUOTE_LINE.match(lines[i]))


def _offset(lines: list[str], index: int) -> int:
    return sum(map(len, lines[:index])) + 2 * index


def _separator_kind(lines: list[str], index: int) -> str | None:
    """ "attribution" ("On ... wrote:"), "block" (forward/Outlook header block) or None."""
    line = lines[index].strip()
    if _BLOCK_TITLE.match(line):
        return "block"
    if _ATTRIBUTION.match(line) or _wrapped_attribution(lines, index):
        return "attribution"
    if _QUOTEQUAIL_REPLY.match(line):
        return "attribution"
    if _introduces_quote(lines, index):
        return "attribution"
    if _HEADER_LINE.match(line):
        following = [candidate.strip() for candidate in lines[index + 1 : index + 4]]
        if any(_SENT_LINE.match(candidate) for candidate in following):
            return "block"
    return None


def _wrapped_attribution(lines: list[str], index: int) -> bool:
    """Gmail wraps long "On ... wrote:" lines; accept a match over two or three lines.
    The date is on the first line ("Am heutigen Tage" above an attribution is text).
    A first line too short for the opening word has no room for a date either."""
    first = lines[index].strip()
    if not first.startswith(_ATTRIBUTION_OPENINGS) or not any(map(str.isdigit, first)):
        return False
    for count in (2, 3):
        joined = " ".join(part.strip() for part in lines[index : index + count])
        if _ATTRIBUTION.match(joined):
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
