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
from enum import StrEnum
from functools import lru_cache

MAX_DEPTH = 120  # deeper nesting is treated as an opaque leaf (parser recursion)

_HEADER_PARSER = BytesHeaderParser(policy=compat32)
_BLANK_LINE = b"\r\n\r\n"


_BARE_LF = re.compile(rb"\n(?<!\r\n)")  # literal first: a fast scan, checked at each LF


def to_crlf(message: bytes) -> bytes:
    """Normalise line ends to CRLF (RFC 5321 on the wire); cheap when already CRLF."""
    if _BARE_LF.search(message) is None:
        return message
    return message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


class Defect(StrEnum):
    """Why a part's structure may be read differently by different readers.

    `steps_locate.detect_skip` decides per defect and per place whether the
    message can still be signed.
    """

    HEADER_GARBAGE = "header-garbage"  # a line that is no field before the blank line
    CONFLICTING_FIELDS = "conflicting-fields"  # two different Content-Type or -Transfer-Encoding
    NO_BOUNDARY = "no-boundary"  # multipart without a boundary parameter
    BAD_BOUNDARY = "bad-boundary"  # outside RFC 2046 bchars, folded, or over 200 characters
    BOUNDARY_NOT_FOUND = "boundary-not-found"  # no delimiter line in the body at all
    NESTED_BOUNDARY = "nested-boundary"  # an inner boundary equal to an outer one
    DELIMITER_IN_HEADER = "delimiter-in-header"  # strict readers start the parts in the header


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
    defects: list[Defect] = field(default_factory=list)
    lenient_content_type: str = ""  # as readers that skip header garbage see it
    header_only: bool = False  # no blank line: no body at all (not even an empty one)

    @property
    def malformed(self) -> bool:
        """Structure we cannot read the way every reader would."""
        return bool(self.defects)

    @property
    def content_type(self) -> str:
        return self.headers.get_content_type()

    @property
    def is_multipart(self) -> bool:
        return self.content_type.startswith("multipart/")

    @property
    def is_attachment(self) -> bool:
        """An attached file is never a body: explicit disposition or a file name."""
        # str(): a field with 8-bit bytes comes as an email.header.Header (compat32).
        disposition = str(self.headers.get("Content-Disposition") or "").strip().lower()
        if disposition.startswith("attachment"):
            return True
        return bool(self.headers.get_filename() or self.headers.get_param("name"))

    @property
    def transfer_encoding(self) -> str:
        return canonical_transfer_encoding(self.headers.get("Content-Transfer-Encoding"))

    @property
    def transfer_encoding_is_canonical(self) -> bool:
        """Whether the field (if any) names its encoding as RFC 2045 spells it."""
        value = self.headers.get("Content-Transfer-Encoding")
        return value is None or str(value).strip().lower() == self.transfer_encoding

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


def parse(message: bytes) -> Part:
    """The structure of a CRLF-normalised message."""
    return _parse_entity(message, 0, len(message), 0, ())


def _parse_entity(
    data: bytes, start: int, end: int, depth: int, outer_boundaries: tuple[str, ...]
) -> Part:
    header_only = False
    if data.startswith(b"\r\n", start, end):  # no header fields at all
        fields_end, body_start = start, start + 2
    else:
        blank = data.find(_BLANK_LINE, start, end)
        if blank < 0:  # header only, no body
            fields_end = body_start = end
            header_only = True
        else:
            fields_end, body_start = blank + 2, blank + 4
    headers = _HEADER_PARSER.parsebytes(data[start:fields_end])
    part = Part(start, fields_end, body_start, end, headers, depth=depth)
    part.header_only = header_only
    part.lenient_content_type = part.content_type
    garbage = _garbage(headers)
    if garbage:
        # A line that is no header field before the blank line: Python's email
        # (and RFC 5322 2.2 read strictly) starts the body there; Thunderbird and
        # others skip the line and read the fields after it. Our header block ends
        # where the strict readers' does, so a field we add is a field for both.
        part.defects.append(Defect.HEADER_GARBAGE)
        garbage_start = fields_end - len(garbage)
        if data[garbage_start:fields_end].decode("ascii", "surrogateescape") == garbage:
            part.fields_end = garbage_start
        lenient = _lenient_headers(data[start:fields_end])
        part.lenient_content_type = lenient.get_content_type()
        if lenient.get_param("boundary") != headers.get_param("boundary"):
            part.defects.append(Defect.CONFLICTING_FIELDS)
    else:
        lenient = headers
    if _conflicting(lenient):
        part.defects.append(Defect.CONFLICTING_FIELDS)
    if part.is_multipart and depth < MAX_DEPTH:
        _parse_children(data, part, outer_boundaries, garbage or "")
    return part


def _parse_children(
    data: bytes, part: Part, outer_boundaries: tuple[str, ...], garbage: str
) -> None:
    boundary = part.headers.get_param("boundary")
    if isinstance(boundary, tuple):  # RFC 2231 encoded
        boundary = boundary[2]
    if not boundary:
        part.defects.append(Defect.NO_BOUNDARY)
        return
    boundary = str(boundary)
    # RFC 2046 5.1.1: a boundary does not end in a space; Python's email strips
    # trailing spaces (get_boundary), others keep them: the delimiters differ.
    if (
        not _BOUNDARY.fullmatch(boundary)
        or boundary.endswith(" ")
        or _UNQUOTED_SPECIAL_BOUNDARY.search(str(part.headers.get("Content-Type", "")))
    ):
        part.defects.append(Defect.BAD_BOUNDARY)
        return
    if boundary in outer_boundaries:
        # RFC 2046 5.1.2: an inner boundary must differ from the outer ones. Python's
        # email nests the parts that follow into the inner multipart; we (and
        # readers that match the outer delimiter first) make them its siblings.
        # A boundary that only begins like an outer one is read alike by readers
        # that match the whole delimiter line (Python's email, Thunderbird).
        part.defects.append(Defect.NESTED_BOUNDARY)
    if ("\n--" + boundary) in "\n" + garbage:
        part.defects.append(Defect.DELIMITER_IN_HEADER)
        return
    ranges, _closed = _child_ranges(data, part.body_start, part.end, boundary.encode("latin-1"))
    # A missing close delimiter (truncated mail) is common and read alike by
    # everyone as long as parts were found (RFC 2046 5.1.1 readers take the rest
    # as the last part); none at all is not.
    if not ranges:
        part.defects.append(Defect.BOUNDARY_NOT_FOUND)
    inner = (*outer_boundaries, boundary)
    part.children = [_parse_entity(data, s, e, part.depth + 1, inner) for s, e in ranges]


_FIELD_LINE = re.compile(rb"[!-9;-~]+:")


def _lenient_headers(block: bytes) -> Message:
    """The header fields as a reader that skips non-field lines reads them."""
    kept: list[bytes] = []
    keep_continuation = False
    for line in block.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            if keep_continuation:
                kept.append(line)
            continue
        keep_continuation = bool(_FIELD_LINE.match(line))
        if keep_continuation:
            kept.append(line)
    return _HEADER_PARSER.parsebytes(b"\r\n".join(kept) + b"\r\n")


def _conflicting(headers: Message) -> bool:
    """Two different Content-Type or Content-Transfer-Encoding fields: readers
    take the first (Python's email) or the last; we cannot know which."""
    names = [name.lower() for name in headers]  # the field names, in order
    if names.count("content-type") < 2 and names.count("content-transfer-encoding") < 2:
        return False  # the common case, without parsing any value
    types = headers.get_all("Content-Type") or []
    if len({re.sub(r"\s+", "", str(value)).lower() for value in types}) > 1:
        return True
    encodings = headers.get_all("Content-Transfer-Encoding") or []
    return len({canonical_transfer_encoding(value) for value in encodings}) > 1


_COMMENT = re.compile(r"\([^()]*\)")
_IDENTITY_SPELLINGS = {"7bit": "7bit", "7bits": "7bit", "8bit": "8bit", "8bits": "8bit"}
_KNOWN = {"7bit", "8bit", "binary", "quoted-printable", "base64"}
_NOT_IDENTITY = {
    "x-uuencode": "x-uuencode",
    "uuencode": "x-uuencode",
    "x-uue": "x-uuencode",
    "uue": "x-uuencode",
    "x-yencode": "x-yencode",
    "yencode": "x-yencode",
}


def _garbage(headers: Message) -> str:
    """The lines after the header fields that are none (email reads them as a body)."""
    try:
        return headers.get_payload()
    except (ValueError, TypeError):
        # email decodes 8-bit garbage with the Content-Type's charset and catches
        # only LookupError; a charset name with a NUL in it raises ValueError, an
        # RFC 2231 `charset*=` (a tuple) TypeError (found by
        # tests/hardening/fuzz/fuzz_rewriter.py). Read it as email does for an
        # unknown charset.
        raw = str(headers._payload)  # noqa: SLF001 (the only way to the undecoded text)
        return raw.encode("ascii", "surrogateescape").decode("ascii", "replace")


def canonical_transfer_encoding(value: object) -> str:
    """The Content-Transfer-Encoding as readers understand it (RFC 2045 6.1).

    - Case, spaces and comments do not count; only the first token does, up to a
      ";" or a space: Thunderbird reads the field that way (MimeHeaders_get with
      strip_p), and so does Python's email header model
      (`ContentTransferEncodingHeader.cte`): `quoted-printable;` is QP.
    - `7-bit`, `8 bit`, `8bits` are spellings of the identity encodings.
    - Any other unknown value is read as the bytes themselves (identity) by
      Thunderbird (no decoder in MimeLeaf) and Python's email (`get_payload(
      decode=True)` returns the raw body); we do the same and call it 7bit.
      RFC 2045 6.4 would have it treated as application/octet-stream, which no
      mainstream reader does.
    - uuencode and yEnc are real encodings readers decode; we keep their names
      so the part is left as it is.
    """
    return "7bit" if value is None else _canonical(str(value))


@lru_cache(maxsize=512)  # a handful of spellings, asked for on every part
def _canonical(value: str) -> str:
    text = _COMMENT.sub("", value).strip().strip("\"'").lower()
    compact = re.sub(r"[\s_-]", "", text.split(";", 1)[0])
    if compact in _IDENTITY_SPELLINGS:
        return _IDENTITY_SPELLINGS[compact]
    token = re.split(r"[;\s]", text, maxsplit=1)[0].strip("\"'") if text else ""
    if token in _KNOWN:
        return token
    return _NOT_IDENTITY.get(token, "7bit")


# RFC 2046 5.1.1 bchars; a boundary outside them (folded, control characters) is
# read differently by different parsers, so we do not guess.
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{1,200}")
# An unquoted boundary with tspecials ("=", "/", ...) is cut short by strict parsers
# (RFC 2045 5.1) and taken whole by lenient ones.
# (The parameter name follows ";": "MIXEDBOUNDARY==" inside a quoted value is no parameter.)
_UNQUOTED_SPECIAL_BOUNDARY = re.compile(r'(?i);\s*boundary\s*=\s*(?!")[^;\s]*[()<>@,:\\/\[\]?=]')


def _child_ranges(
    data: bytes, start: int, end: int, boundary: bytes
) -> tuple[list[tuple[int, int]], bool]:
    """Byte ranges of the body parts between delimiter lines (RFC 2046 5.1.1),
    and whether the close delimiter was found.

    The CRLF before a delimiter belongs to the delimiter, not to the part.
    """
    # A delimiter line may end in a bare CR (to_crlf keeps those): readers such as
    # Python's email take CR alone as a line end and still see the delimiter.
    delimiter = re.compile(
        rb"(?:^|\r\n)--" + re.escape(boundary) + rb"(--)?[ \t]*(?:\r\n|\r|$)", re.M
    )
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
