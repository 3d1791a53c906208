"""The last step: encode the changed body parts and splice them into the message.

Only the header fields we must change (charset, transfer encoding, our marker)
and the changed bodies are replaced; every other byte is copied as it was.
"""

from __future__ import annotations

import re

from rewriter.body import Kind
from rewriter.draft import Draft
from rewriter.mime import Part
from rewriter.plan import MARKER_HEADER
from rewriter.transfer import encode_body

_META_CHARSET = re.compile(r"""(<meta\b[^>]*?\bcharset\s*=\s*["']?)([-\w:.]+)""", re.I)


def encode(draft: Draft) -> None:
    """Encode each changed body in its charset and transfer encoding and splice."""
    message = draft.message
    edits: list[tuple[int, int, bytes]] = []
    root_fields: dict[str, str] = {}
    for body in draft.bodies:
        if not body.changed:
            continue
        part = body.part
        encoded = encode_body(
            body.content.text, body.transfer_encoding, body.charset, draft.plan.allow_8bit
        )
        if encoded.charset != body.charset and body.kind is Kind.HTML:
            # A <meta charset> that contradicts the MIME charset confuses some readers.
            text = _META_CHARSET.sub(r"\g<1>utf-8", body.content.text)
            encoded = encode_body(text, body.transfer_encoding, "utf-8", draft.plan.allow_8bit)
        new_body = encoded.body
        if new_body.endswith(b"\r\n") and not message[part.body_start : part.end].endswith(b"\r\n"):
            new_body = new_body[:-2]  # the CRLF before the next delimiter is the delimiter's
        fields: dict[str, str] = {}
        if encoded.charset != body.charset:
            fields["charset"] = encoded.charset
        if encoded.transfer_encoding != body.transfer_encoding and not (
            encoded.transfer_encoding == "7bit" and body.transfer_encoding in ("", "7bit")
        ):
            fields["Content-Transfer-Encoding"] = encoded.transfer_encoding
        if part is draft.root:
            root_fields = fields
        elif fields:
            edits.append(
                (part.start, part.fields_end, _edit_fields(message, part, fields, body.kind))
            )
        edits.append((part.body_start, part.end, new_body))
    root = draft.root
    header = (
        _edit_fields(message, root, root_fields, _root_kind(draft))
        if root_fields
        else bytes(memoryview(message)[root.start : root.fields_end])
    )
    header += f"{MARKER_HEADER}: {draft.plan.marker_value}\r\n".encode("ascii")
    if root.fields_end == root.body_start:  # header-only message
        header += b"\r\n"
    edits.append((root.start, root.fields_end, header))
    draft.output = _splice(message, edits)


def _root_kind(draft: Draft) -> Kind:
    return next((b.kind for b in draft.bodies if b.part is draft.root), Kind.TEXT)


def _edit_fields(message: bytes, part: Part, fields: dict[str, str], kind: Kind) -> bytes:
    block = message[part.start : part.fields_end].decode("latin-1")
    charset = fields.get("charset")
    if charset is not None:
        block = _set_charset(block, charset, kind)
    encoding = fields.get("Content-Transfer-Encoding")
    if encoding is not None:
        block = _set_field(block, "Content-Transfer-Encoding", encoding)
    if part.depth == 0 and not re.search(r"(?im)^mime-version:", block):
        block += "MIME-Version: 1.0\r\n"
    return block.encode("latin-1")


def _field_pattern(name: str) -> re.Pattern[str]:
    return re.compile(r"(?im)^" + re.escape(name) + r":[^\r\n]*(?:\r\n[ \t][^\r\n]*)*\r\n")


def _set_field(block: str, name: str, value: str) -> str:
    line = f"{name}: {value}\r\n"
    pattern = _field_pattern(name)
    if pattern.search(block):
        return pattern.sub(lambda _: line, block, count=1)
    return block + line


def _set_charset(block: str, charset: str, kind: Kind) -> str:
    pattern = _field_pattern("Content-Type")
    found = pattern.search(block)
    if found is None:
        subtype = "html" if kind is Kind.HTML else "plain"
        return block + f'Content-Type: text/{subtype}; charset="{charset}"\r\n'
    field = found.group(0)
    parameter = re.compile(r"""(?i)(;\s*charset\s*=\s*)("[^"]*"|[^;\s]*)""")
    if parameter.search(field):
        new_field = parameter.sub(lambda m: f'{m.group(1)}"{charset}"', field, count=1)
    else:
        new_field = field[:-2] + f'; charset="{charset}"\r\n'
    return block[: found.start()] + new_field + block[found.end() :]


def _splice(message: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    """Join the unchanged slices and the replacements (memoryview: no copies)."""
    view = memoryview(message)
    pieces: list[bytes | memoryview] = []
    position = 0
    for start, end, replacement in sorted(edits, key=lambda edit: (edit[0], edit[1])):
        pieces.append(view[position:start])
        pieces.append(replacement)
        position = end
    pieces.append(view[position:])
    return b"".join(pieces)
