"""The originator fields of a message (From, Sender, Resent-From, Resent-Sender),
read strictly and with bounds, for the sender checks (proxy/senders.py).

Strict, because a check that reads a header differently from the mail
program that shows it can be bypassed:
- field names are compared after removing the whitespace RFC 5322 4.5.3
  (obs-optional) allows before the colon: `From : x` is a From: field for
  Outlook and friends, so it is one for us too (Python's parser would skip it);
- RFC 5322 3.6 allows exactly one From: and at most one Sender:;
- an address field the email package parses only with a defect (an empty
  local part, a missing '>', text after the address, undecodable bytes) is
  malformed: refused, never guessed at.

Bounded, because the email package parses comments recursively: a From: with
thousands of nested comments raises RecursionError deep inside it. A field
longer than MAX_FIELD_LENGTH or nested deeper than MAX_COMMENT_DEPTH is
refused before the parser sees it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import errors
from email.headerregistry import HeaderRegistry

from proxy.errors import ProxyError

MAX_FIELD_LENGTH = 8192  # characters of one unfolded address field
MAX_COMMENT_DEPTH = 8  # real mail programs write none or one level
MAX_RESENT_FIELDS = 32  # Resent-* blocks (RFC 5322 3.6.6): one per forwarding

ORIGINATOR_FIELDS = ("from", "sender", "resent-from", "resent-sender")
_LINE_END = re.compile(rb"\r\n|\n")
# Defects in the display name only: real mail programs write them (Thunderbird
# quotes encoded words, "Joe Q. Public" is obs-phrase, RFC 5322 4.1) and they
# cannot change which address a field names, so they are tolerated.
_DISPLAY_NAME_DEFECTS = frozenset(
    {
        "period in 'phrase'",
        "phrase does not start with word",
        "comment found without atom",
        "encoded word inside quoted string",
        "missing whitespace before encoded word",
        "missing trailing whitespace after encoded-word",
        "whitespace inside encoded word",
    }
)
_ENCODED_WORD_DEFECTS = (
    errors.CharsetError,
    errors.InvalidBase64PaddingDefect,
    errors.InvalidBase64CharactersDefect,
    errors.InvalidBase64LengthDefect,
)
_REGISTRY = HeaderRegistry()


class MalformedHeader(ProxyError):
    """An originator field the checks cannot trust; the text says what to fix."""


@dataclass(frozen=True)
class AddressField:
    name: str  # as the checks name it: "From", "Sender", "Resent-From", "Resent-Sender"
    addresses: tuple[str, ...]  # addr-specs, each with a non-empty local part and domain


def header_fields(data: bytes) -> list[tuple[str, str]]:
    """(name, unfolded value) of every field of the header section, in order.
    The name has the obs-optional whitespace before its colon removed. The
    section ends at the first empty line, or at a line that is neither a
    field nor a continuation (where Python's parser, and so the rewriter, ends it)."""
    end = data.find(b"\r\n\r\n")
    head = data if end < 0 else data[:end]
    fields: list[tuple[str, str]] = []
    for raw in _LINE_END.split(head):
        line = raw.decode("utf-8", "surrogateescape")
        if line[:1] in (" ", "\t") and fields:  # folded (RFC 5322 2.2.3)
            name, value = fields[-1]
            fields[-1] = (name, value + line)
            continue
        name, colon, value = line.partition(":")
        if not line or not colon:
            break
        fields.append((name.rstrip(" \t"), value.strip(" \t")))
    return fields


def comment_depth(value: str) -> int:
    """The deepest nesting of comments (RFC 5322 3.2.2), outside quoted strings."""
    depth = deepest = 0
    quoted = escaped = False
    for char in value:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"' and depth == 0:
            quoted = not quoted
        elif quoted:
            continue
        elif char == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif char == ")" and depth:
            depth -= 1
    return deepest


def parse_addresses(name: str, value: str, *, utf8: bool) -> AddressField:
    """One address field, strictly; MalformedHeader says what is wrong.
    `utf8`: the message came with SMTPUTF8, so non-ASCII local parts are
    allowed (RFC 6532 3.2); without it they are malformed."""
    if len(value) > MAX_FIELD_LENGTH:
        raise MalformedHeader(f"{name}: header longer than {MAX_FIELD_LENGTH} characters")
    if comment_depth(value) > MAX_COMMENT_DEPTH:
        raise MalformedHeader(f"{name}: header nests comments deeper than {MAX_COMMENT_DEPTH}")
    try:
        parsed = _REGISTRY(name, value)
        mailboxes = [(a.username, a.domain, a.addr_spec) for a in parsed.addresses]
    except Exception as exc:  # the email package raises IndexError & co. on some input
        raise MalformedHeader(f"{name}: header cannot be parsed ({type(exc).__name__})") from exc
    defects = [d for d in parsed.defects if not _tolerated(d, utf8)]
    if defects:
        raise MalformedHeader(f"{name}: header is malformed ({_first_line(defects[0])})")
    if not mailboxes:
        raise MalformedHeader(f"{name}: header has no address")
    for local, domain, _ in mailboxes:
        if not local or not domain:
            raise MalformedHeader(f"{name}: header has an address without local part or domain")
    return AddressField(name, tuple(addr for _, _, addr in mailboxes))


def originator_fields(data: bytes, *, utf8: bool = False) -> list[AddressField]:
    """From (exactly one), Sender (at most one), Resent-From and Resent-Sender
    (bounded), each parsed strictly. Raises MalformedHeader."""
    found: dict[str, list[str]] = {name: [] for name in ORIGINATOR_FIELDS}
    for name, value in header_fields(data):
        key = name.lower()
        if key in found:
            found[key].append(value)
    if len(found["from"]) != 1:
        raise MalformedHeader(
            f"the message has {len(found['from'])} From: headers; RFC 5322 3.6 requires exactly one"
        )
    if len(found["sender"]) > 1:
        raise MalformedHeader("the message has several Sender: headers; RFC 5322 3.6 allows one")
    if len(found["resent-from"]) + len(found["resent-sender"]) > MAX_RESENT_FIELDS:
        raise MalformedHeader(f"the message has more than {MAX_RESENT_FIELDS} Resent- headers")
    titles = {"from": "From", "sender": "Sender"}
    titles |= {"resent-from": "Resent-From", "resent-sender": "Resent-Sender"}
    result = []
    for key in ORIGINATOR_FIELDS:
        for value in found[key]:
            result.append(parse_addresses(titles[key], value, utf8=utf8))
    for single in (f for f in result if f.name in ("Sender", "Resent-Sender")):
        if len(single.addresses) != 1:
            raise MalformedHeader(f"{single.name}: header must name exactly one mailbox")
    return result


def header_senders(data: bytes) -> tuple[str | None, str | None]:
    """The From: (first) and Sender: addresses, which choose a shared mailbox's
    signature (Config.message_sender); (None, None) for headers that cannot be
    read strictly: the envelope sender's signature then, as for any mail."""
    try:
        fields = originator_fields(data, utf8=True)
    except MalformedHeader:
        return None, None
    first = {field.name: field.addresses[0] for field in reversed(fields)}
    return first.get("From"), first.get("Sender")


def _tolerated(defect: Exception, utf8: bool) -> bool:
    if isinstance(defect, errors.NonASCIILocalPartDefect):
        return utf8  # RFC 6532 3.2: UTF-8 local parts only in SMTPUTF8 mail
    return isinstance(defect, _ENCODED_WORD_DEFECTS) or str(defect) in _DISPLAY_NAME_DEFECTS


def _first_line(defect: Exception) -> str:
    return str(defect).splitlines()[0][:80] if str(defect) else type(defect).__name__
