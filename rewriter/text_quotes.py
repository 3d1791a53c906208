"""Where the newest text of a plain-text body ends: the start of the quoted thread.

The words come from `quote_patterns` (per language, data); this module knows the
shapes: attributions ("On ... wrote:", also wrapped over up to three lines, or an
address and a date above the quote in a language we have no verb for), header
blocks (Outlook's "From:"/"Sent:", Yahoo's one-line forwards), titled rules
("-----Original Message-----", mutt's "----- Forwarded message from ... -----",
Zoho's "---- On ... wrote ----"), and tells top-posted replies from interleaved
and bottom-posted ones.

Bodies decoded from base64 often use bare LF line ends (Python's MIMEText, many
web apps): lines are split at LF, so a CR before it stays with its line and
offsets hold for both forms.
"""

from __future__ import annotations

import re

from rewriter.quote_patterns import (
    ATTRIBUTION_VERBS,
    BLOCK_TITLES,
    DATE_WORDS,
    FIELD_WORDS,
    FROM_WORDS,
    alternation,
)

# The sender and date fields of a quoted header block, in every language we know;
# shared with the HTML reader.
FROM_WORDS_PATTERN = alternation(FROM_WORDS)
SENT_WORDS_PATTERN = alternation(DATE_WORDS)

_COLON = "[:：]"  # Chinese and Japanese clients write a full-width colon
_HEADER_LINE = re.compile(r"^\*?" + FROM_WORDS_PATTERN + r"\s?" + _COLON + r"\*?(?:\s|$)")
_FIELD_LINE = re.compile(
    r"^\*?(?:" + alternation(FIELD_WORDS) + "|" + FROM_WORDS_PATTERN + r")\s?"
    + _COLON + r"\*?(?:\s|$)"
)  # fmt: skip
# Polish webmail (Onet, WP) quotes the whole header block on one line, fields glued
# to the date before them: "Temat: RE: x 2023-01-17 13:46Nadawca: "Bob" b@x Adresat:".
_ONE_LINE_HEADER = re.compile(
    r"^\*?" + alternation(FIELD_WORDS) + r"\s?" + _COLON + r".{0,200}?(?<![^\W\d_])"
    + FROM_WORDS_PATTERN + r"\s?" + _COLON
)  # fmt: skip
# A dated field above the sender's that no table names ("Message du : 12/12/2016 13:20"
# of French webmail): a few words, a colon, then the date.
_DATED_FIELD = re.compile(r"^[^\W\d_]+(?: [^\W\d_]+){0,3}\s?" + _COLON + r"\s*\S")
_TITLES = re.compile(alternation(BLOCK_TITLES), re.I)
_VERB = re.compile(r"(?<!\w)" + alternation(ATTRIBUTION_VERBS) + r"(?!\w)", re.I)
# A rule with a title: "-----Original Message-----", "*-------- Original Message
# --------*", mutt's "----- Forwarded message from Bob <b@x> -----", Yahoo's
# "----- Forwarded Message ----- From: ..." (the header fields on the same line).
_TITLED_RULE = re.compile(r"^\*?-{2,}\s*(?P<title>[^-\s].{0,200}?)\s*-{2,}\*?(?P<rest>.*)$")
_APPLE_TITLE = re.compile(r"^" + alternation(BLOCK_TITLES) + r"\s?" + _COLON + r"?$", re.I)
# mutt closes a forward with "----- End forwarded message -----": nothing to place.
_MUTT_END = re.compile(r"^-{2,}\s*End forwarded message\s*-{2,}$", re.I)
_QUOTE_LINE = re.compile(r"^\s?>")
_ADDRESS = re.compile(r"\S@\S")
# An attribution carries a date or a time ("9:00", "17.50", "2024", "1/2/24", "1月").
_DATE_OR_TIME = re.compile(
    r"\b\d{1,2}[:.]\d{2}\b|\b(?:19|20)\d{2}\b|\d[年月日]|\b\d{1,2}/\d{1,2}/\d"
)
# "-----Oprindelig meddelelse-----", "____", "====": a rule above a header block.
_RULE_LINE = re.compile(r"_{10,}|-{10,}|={4,}|\*{4,}|-{3,}[^-].{0,60}?-{3,}")
# Text under a quote that is not a bottom-posted reply: a signature, a mailing-list
# footer or a disclaimer, led by a rule or naming itself.
_FOOTER_START = re.compile(r"^(?:--\s?|_{5,}|-{5,}|={5,}|\*{5,})$")
_FOOTER_WORDS = re.compile(
    r"mailing list|listinfo|unsubscribe|disclaimer|confidential|intended recipient|"
    r"abmelden|vertraulich|Datenschutz",
    re.I,
)
# Gmail of old: "2013/7/20 Bob <bob@example.com>" with no colon (quotequail knows it too).
_GMAIL_DATE_LINE = re.compile(r"^\d{4}/\d{1,2}/\d{1,2} .{0,200}<\S+@\S+>$")
_MAX_ATTRIBUTION = 400
_SENTENCE_END = re.compile(r"(?:[^\W\d_]{5,}\.|[!?])$")
# Gmail wraps "... <bob@example.com" / ">:" when the address runs past the width.
_WRAPPED_ADDRESS_END = re.compile(
    r"^>\s?[:：]$"
)  # characters of an attribution, wrapped lines joined


def text_quote_start(text: str) -> int | None:
    """Offset of the first line of the quoted thread in a plain-text body, or None."""
    lines = text.split("\n")
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
# attribution wrapped over up to three lines), ends in ":" (or Zoho's "wrote ----",
# Gmail's "wrote" cut off) -- every attribution and forward title does -- or if it
# starts like a rule ("---", "___"), a Markdown-bold or Outlook "From:" header,
# Gmail's "2024/01/02 ..." (a year and "/", not just any digit: smtp-source's 40 KB
# lines all start with one) or a "> " quote. A few regex scans find those lines in
# C; the exact checks then run on them alone, so a long text without quotes
# (smtp-source's 2,200 short lines) costs a few scans, not 2,200 checks. `[^\S\n]`
# is blank space within one line. Each scan starts with a literal, which re finds
# fast; "^" with re.M, or an alternation first, would be tried at every position.
_LIKELY_START = r"[^\S\n]*(?:[-_*>]|\d{4}/|" + FROM_WORDS_PATTERN + r"\s?" + _COLON + ")"
_FIRST_LINE_START = re.compile(_LIKELY_START)
_LATER_LINE_START = re.compile(r"\n" + _LIKELY_START)
_LINE_ENDS = [
    re.compile(ending + r"[^\S\n]*$", re.M) for ending in (":", "：", "wrote", "--")
]  # fmt: skip
_WRAPPED_LINES = 3  # attributions wrapped over at most this many lines
_WRAP_WIDTH = 70  # a quoted line this long may have been cut by the mailer


def candidate_lines(text: str) -> list[int]:
    """Indexes (ascending) of the lines of `text` (split at LF) that may begin a
    separator or be a quote line; every other line is neither."""
    starts = [match.start() + 1 for match in _LATER_LINE_START.finditer(text)]
    if _FIRST_LINE_START.match(text):
        starts.insert(0, 0)
    ends = [match.start() for scan in _LINE_ENDS for match in scan.finditer(text)]
    found: set[int] = set()
    line, scanned = 0, 0
    for position, is_end in sorted([(p, False) for p in starts] + [(p, True) for p in ends]):
        # Count line ends only since the last position: linear over the whole text.
        line += text.count("\n", scanned, position)
        scanned = position
        if is_end:  # this line may end an attribution that began up to two lines above
            found.update(range(max(0, line - _WRAPPED_LINES + 1), line + 1))
        else:
            found.add(line)
    return sorted(found)


def _starts_the_thread(lines: list[str], first: int, candidates: list[int]) -> bool:
    """Whether the lines from `first` on are the quoted thread (top-posted, or not quoted
    at all), rather than quotes interleaved with or above the newest text."""
    last_text = next((i for i in range(len(lines) - 1, -1, -1) if lines[i].strip()), -1)
    after = [i for i in range(first, last_text + 1) if lines[i].strip()]
    quoted = quoted_shape(lines, after)
    if all(quoted) or not any(quoted):  # top-posted; or the thread is not quoted
        return True
    if _footer_below_quote(lines, after, quoted):
        return True
    later = (i for i in candidates if after[0] < i <= last_text and lines[i].strip())
    # unquoted older messages further down: still the thread
    return any(_separator_kind(lines, i) for i in later if not _QUOTE_LINE.match(lines[i]))


def quoted_shape(lines: list[str], after: list[int]) -> list[bool]:
    """Which of the non-blank lines `after` (indexes) are quoted. A line that merely
    continues a long quoted line, cut by a mailer that wrapped after quoting
    ("> ... Nullam pharetra d" / "ignissim odio?" / ">"), counts as quoted; the
    attribution's own wrapped remainder (up to two lines) is left out."""
    quoted = [bool(_QUOTE_LINE.match(lines[i])) for i in after]
    for j in range(1, len(after) - 1):
        if quoted[j] or not (quoted[j - 1] and quoted[j + 1]):
            continue
        if after[j + 1] - after[j - 1] == 2 and len(lines[after[j - 1]].strip()) >= _WRAP_WIDTH:
            quoted[j] = True
    for skip in range(1, _WRAPPED_LINES):
        if len(quoted) > skip and not any(quoted[:skip]) and all(quoted[skip:]):
            return quoted[skip:]
    return quoted


def _footer_below_quote(lines: list[str], after: list[int], quoted: list[bool]) -> bool:
    """One quote, then unquoted text that is a signature, a mailing-list footer or a
    disclaimer (led by a rule, or naming itself), not a bottom-posted reply."""
    offset = len(after) - len(quoted)  # the attribution's wrapped remainder, if skipped
    end = quoted.index(False) if quoted[0] else 0
    if end == 0 or any(quoted[end:]):
        return False  # not "quote first, then only unquoted text"
    trailing = [lines[i].strip() for i in after[offset + end :]]
    return bool(_FOOTER_START.match(trailing[0])) or any(map(_FOOTER_WORDS.search, trailing))


def _offset(lines: list[str], index: int) -> int:
    return sum(map(len, lines[:index])) + index  # each line ended by its "\n"


def _separator_kind(lines: list[str], index: int) -> str | None:
    """ "attribution" ("On ... wrote:"), "block" (forward/Outlook header block) or None."""
    line = lines[index].strip()
    titled = _TITLED_RULE.match(line)
    if titled:
        kind = _titled_rule_kind(lines, index, titled)
        if kind:
            return kind
    if _APPLE_TITLE.match(line):
        return "block"
    if _attribution_at(lines, index):
        return "attribution"
    if _HEADER_LINE.match(line) and _fields_follow(lines, index):
        return "block"
    if _ONE_LINE_HEADER.match(line) and _ADDRESS.search(line):
        return "block"
    return None


def _titled_rule_kind(lines: list[str], index: int, titled: re.Match[str]) -> str | None:
    title, rest = titled["title"], titled["rest"].strip()
    if _MUTT_END.match(lines[index].strip()):
        return None
    if _VERB.search(title) and (_ADDRESS.search(title) or _DATE_OR_TIME.search(title)):
        return "attribution"  # Zoho: "---- On Tue, 22 Dec 2015 ... Sam <s@x> wrote ----"
    if _TITLES.search(title) or title.lower().startswith("forwarded message from"):
        return "block"  # known titles, and mutt's "Forwarded message from Bob <b@x>"
    if rest and _FIELD_LINE.match(rest):
        return "block"  # Yahoo: title and header fields on one line
    return "block" if _fields_follow(lines, index, 1) else None


def _fields_follow(lines: list[str], index: int, needed: int = 1) -> bool:
    """At least `needed` header fields ("Sent:", "Til:", "件名：") among the next
    four non-blank lines: a header block, not a sentence that starts with "From:"."""
    below = [line.strip() for line in lines[index + 1 : index + 8] if line.strip()][:4]
    return sum(1 for line in below if _FIELD_LINE.match(line)) >= needed


def _attribution_at(lines: list[str], index: int) -> bool:
    """An attribution beginning on this line: one to three unbroken lines, the last
    ending in ":" (or "wrote"), with the verb of a language we know and an address
    or a date; or, in any language, an address and a date above a "> " quote."""
    if _QUOTE_LINE.match(lines[index]):
        return False
    for count in range(1, _WRAPPED_LINES + 1):
        block = [part.strip() for part in lines[index : index + count]]
        if len(block) < count or not all(block):
            return False
        if _QUOTE_LINE.match(block[-1]) and not _WRAPPED_ADDRESS_END.match(block[-1]):
            return False
        if count > 1 and not _opens_attribution(block[0]):
            return False  # the sender's text; an attribution may begin on a later line
        joined = " ".join(block)
        if len(joined) > _MAX_ATTRIBUTION:
            return False
        if _GMAIL_DATE_LINE.match(joined):
            return True
        if _ends_attribution(joined):
            return _is_attribution(lines, index, count, joined)
    return False


def _opens_attribution(line: str) -> bool:
    """The first of wrapped attribution lines carries its date, address or verb
    ("On Mon, 1 Jan 2024 at 10:00, Bob" / "<bob@x.test> wrote:"); a sentence doesn't
    ("Fr., 28." and "janv." end in dots too)."""
    if _SENTENCE_END.search(line):
        return False
    return bool(_DATE_OR_TIME.search(line) or _ADDRESS.search(line) or _VERB.search(line))


def _ends_attribution(joined: str) -> bool:
    return joined.endswith((":", "：")) or joined.endswith("wrote")


def _is_attribution(lines: list[str], index: int, count: int, joined: str) -> bool:
    has_date = bool(_DATE_OR_TIME.search(joined))
    has_address = bool(_ADDRESS.search(joined))
    if _VERB.search(joined):
        return has_date or has_address
    if not (has_date and has_address):
        return False
    # No verb we know ("2017-11-24 16:32 GMT+01:00 Bob <b@x>:", Russian Gmail's
    # "ср, 30 апр. 2025 г. в 15:19, Bob <b@x>:"): above a "> " quote, or opening a
    # paragraph of its own.
    following = next(
        (line for line in lines[index + count : index + count + 3] if line.strip()), ""
    )
    if _QUOTE_LINE.match(following) or following.startswith((" ", "\t")):
        return True
    return index == 0 or not lines[index - 1].strip()


def _include_rule_above(lines: list[str], index: int) -> int:
    """Outlook puts a "____" rule or a titled "-----...-----" line above the header
    block, some clients a date field ("Message du : ...") above "De :": they belong
    to the quote."""
    above = index - 1
    while above >= 0 and index - above <= 2 and _is_field_above(lines[above].strip()):
        index, above = above, above - 1  # header fields right above the sender's
    if above >= 0 and _is_attribution_above_block(lines[above].strip()):
        return above  # "Am 20.06.24 um 16:20 schrieb Bob" (no colon) over "Von: Bob"
    while above >= 0 and not lines[above].strip():
        above -= 1
    if above >= 0 and _RULE_LINE.fullmatch(lines[above].strip()):
        return above
    return index


def _is_field_above(line: str) -> bool:
    if _FIELD_LINE.match(line):
        return True
    return bool(_DATED_FIELD.match(line) and _DATE_OR_TIME.search(line))


def _is_attribution_above_block(line: str) -> bool:
    """An attribution line without its colon, right above a header block (mail apps
    that write both): it opens the quote too."""
    if len(line) > _MAX_ATTRIBUTION or _SENTENCE_END.search(line):
        return False  # a sentence of the newest text that mentions a date
    return bool(_VERB.search(line) and _DATE_OR_TIME.search(line))
