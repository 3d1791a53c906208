"""Malformed MIME: sign what readers display unambiguously, skip the rest.

`mime.parse` records each structural defect on the part it is in. A defect
makes the message pass unchanged (fail open) unless every mainstream reader
(Thunderbird, Apple Mail, Outlook, Gmail; Python's email standing in for the
strict ones) still agrees on which parts are the body we sign and where they
begin and end. That holds when the defect is confined to a part whose range
a well-formed parent fixes, and that part is not the body, not around it, and
cannot be taken for it:

- header garbage in an attachment (a non-text leaf in either reading of its
  header) or in a multipart whose type and boundary both readings agree on
  (the garbage lands in its preamble, which RFC 2046 5.1.1 tells readers to
  ignore);
- a multipart whose boundary is missing, bad or not found, but whose body is
  empty (nothing to display), or that comes after the body in a
  multipart/mixed (readers show it as a later attachment, whatever is in it).

Never tolerated: defects in the body part we rewrite or in a part around it,
conflicting Content-Type/-Transfer-Encoding in anything that might be text,
delimiters inside a header block, nested boundary collisions around the body.
"""

from __future__ import annotations

from collections.abc import Iterator

from rewriter.mime import Defect, Part

_BODY_TYPES = ("text/plain", "text/html")
_BOUNDARY_DEFECTS = {Defect.NO_BOUNDARY, Defect.BAD_BOUNDARY, Defect.BOUNDARY_NOT_FOUND}


def skip_reason(message: bytes, root: Part, bodies: list[Part]) -> str | None:
    """`malformed-<defect>` for the first defect readers may read differently
    around `bodies` (the parts we would sign), or None when it is safe to sign."""
    around = {id(part) for body in bodies for part in _path_to(root, body)}
    last_body_end = max((body.end for body in bodies), default=len(message))
    for part, parent in _walk_with_parent(root, None):
        for defect in part.defects:
            if not _tolerable(message, part, parent, defect, around, last_body_end):
                return f"malformed-{defect}"
    return None


def defects_by_reason(root: Part) -> list[str]:
    """Every defect of the message (for reports and logs)."""
    return [str(defect) for part in root.walk() for defect in part.defects]


def _tolerable(
    message: bytes,
    part: Part,
    parent: Part | None,
    defect: Defect,
    around: set[int],
    last_body_end: int,
) -> bool:
    if parent is None and defect is not Defect.HEADER_GARBAGE:
        return False  # the whole message's structure is in doubt
    if defect is Defect.HEADER_GARBAGE:
        if part.is_multipart:
            # Both readings agree on the type and boundary (CONFLICTING_FIELDS
            # is recorded otherwise); the garbage is preamble for strict readers.
            return part.lenient_content_type == part.content_type
        return id(part) not in around and _inert_leaf(part)
    if defect is Defect.CONFLICTING_FIELDS:
        return id(part) not in around and _inert_leaf(part) and not part.is_multipart
    nested = Defect.NESTED_BOUNDARY in part.defects
    if defect in _BOUNDARY_DEFECTS and id(part) not in around and not nested:
        if not message[part.body_start : part.end].strip():
            return True  # an empty multipart: nothing for any reader to show
        assert parent is not None
        return parent.content_type == "multipart/mixed" and part.start >= last_body_end
    return False


def _inert_leaf(part: Part) -> bool:
    """A part that is no body candidate however its header is read."""
    types = {part.content_type, part.lenient_content_type}
    types.update(
        str(v).split(";", 1)[0].strip().lower() for v in part.headers.get_all("Content-Type") or []
    )
    return not any(t in _BODY_TYPES or t.startswith("multipart/") for t in types)


def _walk_with_parent(part: Part, parent: Part | None) -> Iterator[tuple[Part, Part | None]]:
    yield part, parent
    for child in part.children:
        yield from _walk_with_parent(child, part)


def _path_to(root: Part, target: Part) -> list[Part]:
    """`target` and its ancestors up to `root` (empty when not found)."""
    if root is target:
        return [root]
    for child in root.children:
        path = _path_to(child, target)
        if path:
            return [root, *path]
    return []
