"""The MIME structure of a message as byte offsets, without decoding bodies.

We parse only headers and boundaries, so the rewriter can splice new bytes
into the few parts that change and leave every other byte where it was
(a full `email` parse + `as_bytes()` rewrites every part and is ~5x slower).
Offsets refer to the CRLF-normalised message (see `to_crlf`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32

MAX_DEPTH = 120  # deeper nesting is treated as an opaque leaf (parser recursion)

_HEADER_PARSER = BytesHeaderParser(policy=compat32)
_BLANK_LINE = b"\r\n\r\n"


_BARE_LF = re.compile(rb"\n(?<!\r\n)")  # literal first: a fast scan, checked at each LF


def to_crlf(message: bytes) -> bytes:
    """Normalise line ends to CRLF (RFC 5321 on the wire); cheap when already CRLF."""
    if _BARE_LF.search(message) is None:
        return message
    return message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


@dataclass
class Part:
    """One MIME entity: its header block is [start, body_start), body [body_start, end)."""

    start: int
    fields_end: int  # where the header fields end (the blank line begins)
    body_start: int
    end: int
    headers: Message
    children: list[Part] = field(default_factory=list)
    depth: int = 0
    malformed: bool = False  # boundaries we cannot read the way every reader would

    @property
    def content_type(self) -> str:
        return self.headers.get_content_type()

    @property
    def is_multipart(self) -> bool:
        return self.content_type.startswith("multipart/")

    @property
    def is_attachment(self) -> bool:
        """An attached file is never a body: explicit disposition or a file name."""
        disposition = (self.headers.get("Content-Disposition") or "").strip().lower()
        if disposition.startswith("attachment"):
            return True
        return bool(self.headers.get_filename() or self.headers.get_param("name"))

    @property
    def transfer_encoding(self) -> str:
        return str(self.headers.get("Content-Transfer-Encoding", "7bit")).strip().lower()

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


def parse(message: bytes) -> Part:
    """The structure of a CRLF-normalised message."""
    return _parse_entity(message, 0, len(message), 0)


def _parse_entity(data: bytes, start: int, end: int, depth: int) -> Part:
    if data.startswith(b"\r\n", start):  # no header fields at all
        fields_end, body_start = start, start + 2
    else:
        blank = data.find(_BLANK_LINE, start, end)
        if blank < 0:  # header only, no body
            fields_end = body_start = end
        else:
            fields_end, body_start = blank + 2, blank + 4
    headers = _HEADER_PARSER.parsebytes(data[start:fields_end])
    part = Part(start, fields_end, body_start, end, headers, depth=depth)
    # A line that is no header field before the blank line: readers disagree on
    # where the body begins (compat32 starts it there; we would append after it).
    part.malformed = bool(headers.get_payload())
    if part.is_multipart and depth < MAX_DEPTH:
        boundary = headers.get_param("boundary")
        if isinstance(boundary, tuple):  # RFC 2231 encoded
            boundary = boundary[2]
        if (
            not boundary
            or not _BOUNDARY.fullmatch(str(boundary))
            or _UNQUOTED_SPECIAL_BOUNDARY.search(str(headers.get("Content-Type", "")))
        ):
            part.malformed = True
            return part
        ranges, _closed = _child_ranges(data, body_start, end, str(boundary).encode("latin-1"))
        # A missing close delimiter (truncated mail) is common and read alike by
        # everyone as long as parts were found; none at all is not.
        part.malformed = part.malformed or not ranges
        part.children = [_parse_entity(data, s, e, depth + 1) for s, e in ranges]
    return part


# RFC 2046 5.1.1 bchars; a boundary outside them (folded, control characters) is
# read differently by different parsers, so we do not guess.
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{1,200}")
# An unquoted boundary with tspecials ("=", "/", ...) is cut short by strict parsers
# (RFC 2045 5.1) and taken whole by lenient ones.
_UNQUOTED_SPECIAL_BOUNDARY = re.compile(r'(?i)boundary\s*=\s*(?!")[^;\s]*[()<>@,:\\/\[\]?=]')


def _child_ranges(
    data: bytes, start: int, end: int, boundary: bytes
) -> tuple[list[tuple[int, int]], bool]:
    """Byte ranges of the body parts between delimiter lines (RFC 2046 5.1.1),
    and whether the close delimiter was found.

    The CRLF before a delimiter belongs to the delimiter, not to the part.
    """
    delimiter = re.compile(rb"(?:^|\r\n)--" + re.escape(boundary) + rb"(--)?[ \t]*(?:\r\n|$)", re.M)
    ranges: list[tuple[int, int]] = []
    part_start: int | None = None
    position = start
    while True:
        found = delimiter.search(data, position, end)
        if found is None:
            break
        line_start = found.start()
        if found.group(0).startswith(b"\r\n"):
            pass  # the CRLF is part of the delimiter
        elif line_start != start and data[line_start - 1 : line_start] != b"\n":
            position = found.end()
            continue
        if part_start is not None:
            ranges.append((part_start, line_start))
        if found.group(1):  # close delimiter: the rest is the epilogue
            return ranges, True
        part_start = found.end()
        position = found.end()
    if part_start is not None and part_start < end:  # missing close delimiter
        ranges.append((part_start, end))
    return ranges, False


def charset_of(part: Part, default: str = "us-ascii") -> str:
    charset = part.headers.get_content_charset()
    return charset or default
