"""A message as a milter sees it (header fields one by one, then the body) and
the milter actions that turn the original into the rewritten bytes.

The rewriter works on whole messages; the milter protocol cannot send a whole
message back, only edits: change or delete the n-th header field of a name
(smfi_chgheader, 1-based per name), add a field (smfi_addheader) and replace
the body (smfi_replacebody). `edits_between` compares the two header blocks
name by name, so headers we never touch are never sent back to the MTA.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

HeaderField = tuple[str, str]  # (name, value without the leading space after the colon)


@dataclass(frozen=True)
class MilterEdits:
    changed: tuple[tuple[str, int, str], ...] = ()  # (name, index from 1, value; "" deletes)
    added: tuple[HeaderField, ...] = ()
    body: bytes | None = None  # None: the body stays as it is

    @property
    def empty(self) -> bool:
        return not self.changed and not self.added and self.body is None


def _crlf(text: bytes) -> bytes:
    return text.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def join_message(headers: list[HeaderField], body: bytes) -> bytes:
    """The message bytes the rewriter reads: CRLF line ends throughout. MTAs
    hand a folded value's continuation lines over with bare LF or CRLF."""
    lines = b"".join(
        _crlf(f"{name}: {value}".encode("utf-8", "surrogateescape")) + b"\r\n"
        for name, value in headers
    )
    return lines + b"\r\n" + _crlf(body)


def split_message(data: bytes) -> tuple[list[HeaderField], bytes]:
    """The header fields and the body of CRLF message bytes."""
    head, separator, body = data.partition(b"\r\n\r\n")
    if not separator:
        head, body = data.removesuffix(b"\r\n"), b""
    fields: list[HeaderField] = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and fields:
            name, value = fields[-1]
            fields[-1] = (name, value + "\r\n" + line.decode("utf-8", "surrogateescape"))
            continue
        name, _, value = line.partition(b":")
        fields.append((name.decode("ascii", "replace"), value.lstrip(b" \t").decode(
            "utf-8", "surrogateescape"
        )))  # fmt: skip
    return fields, body


def edits_between(original: bytes, rewritten: bytes) -> MilterEdits:
    """The milter actions that make `original` into `rewritten`."""
    if original == rewritten:
        return MilterEdits()
    old_fields, old_body = split_message(original)
    new_fields, new_body = split_message(rewritten)
    old_by_name, new_by_name = _by_name(old_fields), _by_name(new_fields)
    changed: list[tuple[str, int, str]] = []
    added: list[HeaderField] = []
    for key in old_by_name.keys() | new_by_name.keys():
        old, new = old_by_name.get(key, []), new_by_name.get(key, [])
        for index in range(max(len(old), len(new))):
            if index >= len(new):
                changed.append((old[index][0], index + 1, ""))  # gone
            elif index >= len(old):
                added.append(new[index])
            elif old[index][1] != new[index][1]:
                changed.append((old[index][0], index + 1, new[index][1]))
    # Deleting from the last index down keeps the indexes of the others valid.
    changed.sort(key=lambda edit: (edit[0].lower(), -edit[1] if not edit[2] else edit[1]))
    return MilterEdits(
        tuple(changed),
        tuple(sorted(added, key=lambda field: new_fields.index(field))),
        None if old_body == new_body else new_body,
    )


def _by_name(fields: list[HeaderField]) -> dict[str, list[HeaderField]]:
    grouped: dict[str, list[HeaderField]] = defaultdict(list)
    for field in fields:
        grouped[field[0].lower()].append(field)
    return grouped


def milter_value(value: str) -> str:
    """A header value as smfi_chgheader/smfi_addheader take it: continuation
    lines separated by LF (the MTA writes its own line ends)."""
    return value.replace("\r\n", "\n")
