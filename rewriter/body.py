"""A body part being rewritten: its decoded text and the places that matter.

Steps edit the text through `EditableText`, which keeps named marks (where the
newest text ends, where </body> is, ...) and the spans of our own additions
correct across every insertion and replacement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from rewriter.mime import Part


class Kind(StrEnum):
    HTML = "html"
    TEXT = "text"


class EditableText:
    """Text plus marks that move with edits.

    A mark at or after an insertion point moves right, so inserting at the
    anchor leaves the anchor just after the inserted text: the next addition
    (banner after signature, pixel after banner) lands below the previous one.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.marks: dict[str, int] = {}
        self.added: list[tuple[int, int]] = []  # spans of our additions

    def insert(self, at: int, addition: str) -> tuple[int, int]:
        self.replace(at, at, addition)
        span = (at, at + len(addition))
        self.added.append(span)
        return span

    def replace(self, start: int, end: int, replacement: str) -> None:
        self.text = self.text[:start] + replacement + self.text[end:]
        delta = len(replacement) - (end - start)
        for name, mark in self.marks.items():
            self.marks[name] = _shift_mark(mark, start, end, delta)
        self.added = [_shift_span(span, start, end, delta) for span in self.added]

    def replace_all(self, edits: list[tuple[int, int, str]]) -> None:
        """Apply non-overlapping (start, end, replacement) edits.

        The text is rebuilt once (one `replace` per edit would copy the whole
        text per link); marks and spans move as if each edit were applied
        alone, last first.
        """
        if not edits:
            return
        ordered = sorted(edits)
        pieces: list[str] = []
        position = 0
        for start, end, replacement in ordered:
            pieces.append(self.text[position:start])
            pieces.append(replacement)
            position = end
        pieces.append(self.text[position:])
        self.text = "".join(pieces)
        last_first = ordered[::-1]
        for name, mark in self.marks.items():
            for start, end, replacement in last_first:
                mark = _shift_mark(mark, start, end, len(replacement) - (end - start))
            self.marks[name] = mark
        spans = self.added
        for start, end, replacement in last_first:
            delta = len(replacement) - (end - start)
            spans = [_shift_span(span, start, end, delta) for span in spans]
        self.added = spans

    def in_added(self, offset: int) -> bool:
        return any(start <= offset < end for start, end in self.added)


def _shift_mark(mark: int, start: int, end: int, delta: int) -> int:
    if mark >= end:
        return mark + delta
    if mark > start:  # inside the replaced text: to its start
        return start
    return mark


def _shift_span(span: tuple[int, int], start: int, end: int, delta: int) -> tuple[int, int]:
    span_start, span_end = span
    if span_start >= end:
        return (span_start + delta, span_end + delta)
    if span_end >= end and span_start <= start:  # the edit is inside (or at the end of) the span
        return (span_start, span_end + delta)
    return span


@dataclass
class BodyPart:
    part: Part
    kind: Kind
    content: EditableText
    charset: str
    transfer_encoding: str
    flowed: bool = False
    signed: bool = False  # the signature went in (or replaced the placeholder)
    changed: bool = False
    notes: list[str] = field(default_factory=list)

    # Names of the marks steps rely on.
    BODY_START = "body_start"  # after <body ...> (HTML) or 0
    BODY_END = "body_end"  # before </body> or the end of the document
    QUOTE_START = "quote_start"  # where the quoted thread begins (replies only)
    ANCHOR = "anchor"  # where the next addition goes: the end of the newest text

    def mark(self, name: str) -> int | None:
        return self.content.marks.get(name)
