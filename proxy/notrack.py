"""Per-message no-track: the sender's own switch (DESIGN.md "Fan-out and privacy modes").

A header `X-Sigrelay-Track: no` or a subject tag such as `[notrack]` (case does
not matter; the tag is configurable) turns tracking off for that one message.
Both are ours, not the recipients' business, so every copy goes out without
them: the header field is dropped, the tag is cut from the subject together
with the space around it, also when the subject is MIME-encoded (RFC 2047).

Pure functions over bytes: the spooled original is never touched; the
planner asks `wants_no_tracking` once and `strip_notrack` makes each copy's bytes.
"""

from __future__ import annotations

import re
from email.header import Header, decode_header, make_header

TRACK_HEADER = b"x-sigrelay-track"
# What a sender may write to say "do not track" (anything else is ignored, but removed).
NO_VALUES = frozenset({"no", "off", "false", "0"})
_FIELD_NAME = re.compile(rb"([!-9;-~]+)[ \t]*:")


def _head_end(data: bytes) -> int:
    """Where the header block ends (after its last line end): the blank line's
    start, or the end of `data` when there is none. Searches the header only
    (a CRLF message has no LF LF, and its body may be megabytes long)."""
    crlf = data.find(b"\r\n\r\n")
    lf = data.find(b"\n\n", 0, len(data) if crlf == -1 else crlf)
    if lf != -1:
        return lf + 1
    return crlf + 2 if crlf != -1 else len(data)


def _fields(head: bytes) -> list[bytes]:
    """Header fields, each with its continuation lines and line ends (RFC 5322 2.2.3)."""
    fields: list[bytes] = []
    for line in head.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += line
        else:
            fields.append(line)
    return fields


def _name(field: bytes) -> bytes:
    match = _FIELD_NAME.match(field)
    return match.group(1).lower() if match else b""


def _value(field: bytes) -> bytes:
    """The unfolded value, without the name, the colon and the line end."""
    raw = field.split(b":", 1)[1] if b":" in field else b""
    return re.sub(rb"\r?\n(?=[ \t])", b"", raw).strip(b"\r\n").strip()


def _decoded(value: bytes) -> str:
    text = value.decode("utf-8", errors="replace")
    if "=?" not in text:
        return text
    try:
        return str(make_header(decode_header(text)))
    except (ValueError, LookupError):  # malformed encoded-word or unknown charset
        return text


def _tag_pattern(tag: str) -> re.Pattern[str]:
    return re.compile(r"[ \t]*" + re.escape(tag) + r"[ \t]*", re.IGNORECASE)


def _cut(text: str, pattern: re.Pattern[str]) -> str:
    # Between two words the tag leaves one space; at either end, none.
    def join(match: re.Match[str]) -> str:
        at_edge = match.start() == 0 or match.end() == len(match.string)
        return "" if at_edge else " "

    return pattern.sub(join, text)


def wants_no_tracking(data: bytes, tag: str) -> bool:
    """True if the sender asked, by header or subject tag, not to track this message."""
    pattern = _tag_pattern(tag) if tag else None
    for field in _fields(data[: _head_end(data)]):
        name = _name(field)
        if name == TRACK_HEADER and _value(field).decode("ascii", "replace").lower() in NO_VALUES:
            return True
        if name == b"subject" and pattern and pattern.search(_decoded(_value(field))):
            return True
    return False


def strip_notrack(data: bytes, tag: str) -> bytes:
    """The message without our header and without the subject tag; unchanged
    bytes (the same object) when there is nothing to remove."""
    end = _head_end(data)
    pattern = _tag_pattern(tag) if tag else None
    fields, changed = [], False
    for field in _fields(data[:end]):
        name = _name(field)
        if name == TRACK_HEADER:
            changed = True
            continue
        if name == b"subject" and pattern:
            new = _subject_without_tag(field, pattern)
            changed = changed or new != field
            field = new
        fields.append(field)
    return b"".join(fields) + data[end:] if changed else data


def _subject_without_tag(field: bytes, pattern: re.Pattern[str]) -> bytes:
    eol = b"\r\n" if field.endswith(b"\r\n") else b"\n"
    value = _value(field)
    raw = value.decode("utf-8", errors="surrogateescape")
    if "=?" not in raw:
        if not pattern.search(raw):
            return field
        # Written as is: keep the sender's bytes (8-bit UTF-8 subjects included).
        return b"Subject: " + _cut(raw, pattern).encode("utf-8", "surrogateescape") + eol
    text = _decoded(value)
    if not pattern.search(text):
        return field
    text = _cut(text, pattern)
    if text.isascii() and "=?" not in text:
        return b"Subject: " + text.encode("ascii") + eol
    encoded = Header(text, "utf-8", header_name="Subject").encode(linesep=eol.decode())
    return b"Subject: " + encoded.encode("ascii") + eol
