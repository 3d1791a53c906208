"""One form of line end per body: what we add takes the line ends of the part.

Templates come out of Jinja with LF line ends (its `newline_sequence`), our
own steps write CRLF, and an employee's directory field may even carry a CR.
Inserted as they are, they mix line ends inside one part: a bare LF inside a
CRLF message, which RFC 5322 2.3 and RFC 5321 2.3.8 forbid on the wire and
which mail stores and DKIM canonicalisation treat differently from CRLF.

So before a changed body is encoded, the line ends inside our additions (the
spans `EditableText` keeps) are rewritten to the form the part's own text
uses: CRLF for every part whose body travels as lines (7bit, 8bit,
quoted-printable: the message was made CRLF before parsing), and whatever the
decoded text uses for a base64 part (Python's MIMEText and many web apps
encode text with LF line ends). The sender's own text is never touched.
"""

from __future__ import annotations

import re

CRLF = "\r\n"
_LINE_END = re.compile(r"\r\n|\r|\n")


def merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Disjoint, ordered spans (additions grow into each other when inserted at
    the same anchor: the banner right after the signature)."""
    result: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if result and start <= result[-1][1]:
            result[-1] = (result[-1][0], max(end, result[-1][1]))
        else:
            result.append((start, end))
    return result


def line_end_of(text: str, added: list[tuple[int, int]]) -> str:
    """The line end of the sender's text: that of its first line break outside
    our additions; CRLF when it has none (the form of the wire)."""
    position = 0
    for start, end in [*merged(added), (len(text), len(text))]:
        found = text.find("\n", position, start)
        if found >= 0:
            return CRLF if found > 0 and text[found - 1] == "\r" else "\n"
        position = max(position, end)
    return CRLF


def with_line_ends(text: str, added: list[tuple[int, int]], line_end: str) -> str:
    """`text` with every line end inside our additions written as `line_end`."""
    spans = merged(added)
    if not spans:
        return text
    pieces: list[str] = []
    position = 0
    for start, end in spans:
        pieces.append(text[position:start])
        pieces.append(_LINE_END.sub(line_end, text[start:end]))
        position = end
    pieces.append(text[position:])
    return "".join(pieces)
