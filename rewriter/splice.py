"""The last step: encode the changed body parts and splice them into the message.

Only the header fields we must change (charset, transfer encoding, our marker)
and the changed bodies are replaced; every other byte is copied as it was,
long lines included (RFC 5321 4.5.3.1: we are not the one to fold them; a
fold would break signatures and attachments). A changed body is re-encoded
so that every line we write is <= 998 octets (transfer.encode_body), and what
we added takes the line ends of the part it went into (line_ends.py).
"""

from __future__ import annotations

import re

from rewriter import inline_images
from rewriter.body import BodyPart, Kind
from rewriter.draft import Draft
from rewriter.line_ends import line_end_of, with_line_ends
from rewriter.mime import Part
from rewriter.plan import MARKER_HEADER, InlineImage
from rewriter.transfer import encode_body

_META_CHARSET = re.compile(r"""(<meta\b[^>]*?\bcharset\s*=\s*["']?)([-\w:.]+)""", re.I)


def encode(draft: Draft) -> None:
    """Encode each changed body in its charset and transfer encoding and splice."""
    message = draft.message
    edits: list[tuple[int, int, bytes]] = []
    root_fields: dict[str, str] = {}
    root_related: tuple[bytes, tuple[InlineImage, ...]] | None = None  # new root body, images
    for body in draft.bodies:
        if not body.changed:
            continue
        part = body.part
        text = _text_with_its_line_ends(body)
        encoded = encode_body(text, body.transfer_encoding, body.charset, draft.plan.allow_8bit)
        if encoded.charset != body.charset and body.kind is Kind.HTML:
            # A <meta charset> that contradicts the MIME charset confuses some readers.
            text = _META_CHARSET.sub(r"\g<1>utf-8", text)
            encoded = encode_body(text, body.transfer_encoding, "utf-8", draft.plan.allow_8bit)
        new_body = encoded.body
        if new_body.endswith(b"\r\n") and not message[part.body_start : part.end].endswith(b"\r\n"):
            new_body = new_body[:-2]  # the CRLF before the next delimiter is the delimiter's
        fields: dict[str, str] = {}
        if encoded.charset != body.charset:
            fields["charset"] = encoded.charset
        if (
            encoded.transfer_encoding != body.transfer_encoding
            or not part.transfer_encoding_is_canonical  # "quoted-printable;", "8-bit"
        ) and not (
            encoded.transfer_encoding == "7bit"
            and part.headers.get("Content-Transfer-Encoding") is None
        ):
            fields["Content-Transfer-Encoding"] = encoded.transfer_encoding
        images = _images_to_embed(draft, body)
        related = _related_parent(draft.root, part) if images else None
        if part is draft.root:
            root_fields = fields
            if images:
                root_related = (new_body, images)
                continue
        elif images and related is None:  # the HTML part becomes a multipart/related
            block = _edit_fields(message, part, fields, body.kind) if fields else None
            block = block or message[part.start : part.fields_end]
            edits.append((part.start, part.end, _wrapped_in_related(block, new_body, images)))
            continue
        elif fields:
            edits.append(
                (part.start, part.fields_end, _edit_fields(message, part, fields, body.kind))
            )
        edits.append((part.body_start, part.end, new_body))
        if related is not None:  # the HTML already has pictures: ours join them
            boundary = str(related.headers.get_param("boundary")).encode("latin-1")
            end = related.children[-1].end
            edits.append((end, end, inline_images.appended_parts(boundary, images)))
    root = draft.root
    header = (
        _edit_fields(message, root, root_fields, _root_kind(draft))
        if root_fields
        else bytes(memoryview(message)[root.start : root.fields_end])
    )
    if root_related is not None:
        header, related_body = _root_into_related(header, *root_related)
        edits.append((root.body_start, root.end, related_body))
    header += f"{MARKER_HEADER}: {draft.plan.marker_value}\r\n".encode("ascii")
    if root.fields_end == root.body_start:  # header-only message
        header += b"\r\n"
    edits.append((root.start, root.fields_end, header))
    draft.output = _splice(message, edits)


def _text_with_its_line_ends(body: BodyPart) -> str:
    """The body's text with our additions in the line ends of the sender's text
    (rewriter/line_ends.py): never a bare LF from a template in a CRLF part."""
    content = body.content
    return with_line_ends(content.text, content.added, line_end_of(content.text, content.added))


def _images_to_embed(draft: Draft, body: BodyPart) -> tuple[InlineImage, ...]:
    plan = draft.plan
    if not plan.embed_images or body.kind is not Kind.HTML:
        return ()
    return inline_images.referenced(body.content.text, plan.inline_images)


def _related_parent(root: Part, html_part: Part) -> Part | None:
    """The multipart/related whose first part is this HTML body, if any."""
    for part in root.walk():
        if part.content_type == "multipart/related" and any(
            child is html_part for child in part.children
        ):
            return part
    return None


def _wrapped_in_related(block: bytes, new_body: bytes, images: tuple[InlineImage, ...]) -> bytes:
    """A whole new entity: multipart/related holding the HTML part and the images."""
    boundary = inline_images.boundary_for(block, new_body)
    root_entity = block + b"\r\n" + new_body
    return (
        inline_images.related_content_type(boundary)
        + b"\r\n"
        + inline_images.related_body(boundary, root_entity, images)
    )


def _root_into_related(
    header: bytes, new_body: bytes, images: tuple[InlineImage, ...]
) -> tuple[bytes, bytes]:
    """A single-part HTML message becomes multipart/related: its Content-* fields
    move into the HTML part, the message keeps the rest."""
    other, content = inline_images.split_content_fields(header)
    boundary = inline_images.boundary_for(content, new_body)
    outer = other + inline_images.related_content_type(boundary)
    if not re.search(rb"(?im)^mime-version:", other):
        outer += b"MIME-Version: 1.0\r\n"
    body = inline_images.related_body(boundary, content + b"\r\n" + new_body, images)
    return outer, body + b"\r\n"


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
