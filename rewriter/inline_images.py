"""Signature and banner images embedded as CID parts, for groups that ask for it.

The HTML body and its images become one multipart/related (RFC 2387): the
HTML first, then one inline part per image with the Content-ID the HTML
refers to as `cid:...`. If the HTML body already is the root of a
multipart/related (pasted pictures), the images join that one instead.
Everything here is bytes in, bytes out; the boundary is derived from the
content, so the rewriter stays deterministic.
"""

from __future__ import annotations

import hashlib
import re

from rewriter.plan import InlineImage
from rewriter.transfer import base64_lines

_CONTENT_FIELD = re.compile(rb"(?i)content-")
_SAFE_FILENAME = re.compile(r'[^\x20-\x7e]|["\\]')


def referenced(html: str, images: tuple[InlineImage, ...]) -> tuple[InlineImage, ...]:
    """The images the HTML refers to, in plan order (others would only add weight)."""
    return tuple(image for image in images if f"cid:{image.cid}" in html)


def boundary_for(*contents: bytes) -> str:
    """A boundary that occurs in none of the contents (RFC 2046 5.1.1)."""
    digest = hashlib.sha256()
    for content in contents:
        digest.update(content)
    counter = 0
    while True:
        boundary = f"sigrelay-related-{digest.hexdigest()[:24]}-{counter}"
        if not any(boundary.encode("ascii") in content for content in contents):
            return boundary
        counter += 1


def image_entity(image: InlineImage) -> bytes:
    """One inline image part: header fields, blank line, base64 body (no final CRLF)."""
    name = _SAFE_FILENAME.sub("_", image.filename) if image.filename else None
    fields = [f"Content-Type: {image.content_type}" + (f'; name="{name}"' if name else "")]
    fields.append("Content-Transfer-Encoding: base64")
    fields.append(f"Content-ID: <{image.cid}>")
    fields.append("Content-Disposition: inline" + (f'; filename="{name}"' if name else ""))
    head = ("\r\n".join(fields) + "\r\n\r\n").encode("ascii")
    return head + base64_lines(image.data).removesuffix(b"\r\n")


def appended_parts(boundary: bytes, images: tuple[InlineImage, ...]) -> bytes:
    """The images as further parts of an existing multipart (inserted before its
    close delimiter, whose CRLF follows)."""
    return b"".join(b"\r\n--" + boundary + b"\r\n" + image_entity(image) for image in images)


def related_body(boundary: str, root_entity: bytes, images: tuple[InlineImage, ...]) -> bytes:
    """The body of a new multipart/related: the HTML entity, then the images."""
    delimiter = boundary.encode("ascii")
    return (
        b"--"
        + delimiter
        + b"\r\n"
        + root_entity
        + appended_parts(delimiter, images)
        + b"\r\n--"
        + delimiter
        + b"--"
    )


def related_content_type(boundary: str) -> bytes:
    field = f'Content-Type: multipart/related;\r\n boundary="{boundary}"; type="text/html"\r\n'
    return field.encode("ascii")


def split_content_fields(block: bytes) -> tuple[bytes, bytes]:
    """A header block split into (other fields, Content-* fields), folded lines kept whole.

    The Content-* fields describe the HTML and move into the new root part; the
    others (From, Subject, ...) stay with the message.
    """
    other: list[bytes] = []
    content: list[bytes] = []
    target = other
    for line in block.split(b"\r\n")[:-1]:  # the block ends with CRLF
        if line[:1] not in (b" ", b"\t"):
            target = content if _CONTENT_FIELD.match(line) else other
        target.append(line + b"\r\n")
    return b"".join(other), b"".join(content)
