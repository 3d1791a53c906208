"""Fan-out: how a message's recipients split into copies (DESIGN.md "Fan-out").

Pure: the privacy mode, the internal-domain test and the copy-id source are
parameters. A copy's id is asked for by what the copy is (its mode and
recipients), so the same message planned again gets the same ids.
Tracking tags can only tell recipients apart if each gets its own copy,
so the split follows the sender group's privacy mode:

    personal   one tracked copy per external recipient
    domain     one tracked copy per external recipient domain
    anonymous  one tracked copy for all external recipients
    off        one untracked copy for everyone

Internal recipients (company domains) never get tracking tags: they share one
untracked copy. Recipients are compared case-insensitively and never repeated.

A recipient's own choice can only lower the mode (DESIGN.md: opt-out, consent):
`cap(address)` names the most that recipient allows. Someone capped at
`anonymous` joins the one anonymous copy, someone capped at `off` the untracked
copy, whatever the group's mode; a cap above the mode changes nothing.

What a recipient gets beyond the tags (DESIGN.md, issue 18: recipient rules
and languages) is `output_of(address)`, a `Rendering`. A copy only groups
recipients with the same rendering, so the untracked and the domain copies
split further by it. The anonymous copy stays one copy for all of the same
recipient rule (a disclaimer must reach whom it is for), and takes the
language most of its recipients would get, ties going to the one named first
in the envelope (the client lists To before Cc): one copy per language would
single out the one French recipient among Germans.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from config.schema import PrivacyMode

# Most to least tracking: a recipient gets the lower of the mode and their cap.
MODES = (PrivacyMode.PERSONAL, PrivacyMode.DOMAIN, PrivacyMode.ANONYMOUS, PrivacyMode.OFF)
_RANK = {mode: rank for rank, mode in enumerate(MODES)}


@dataclass(frozen=True)
class CopySpec:
    copy_id: str
    recipients: tuple[str, ...]
    tracked: bool
    privacy: PrivacyMode  # the mode this copy is recorded under; OFF for untracked copies
    recipient: str | None = None  # personal mode only: what the store may keep
    domain: str | None = None  # personal and domain modes only
    language: str | None = None  # of the templates and the opt-out line; None: the group's


@dataclass(frozen=True)
class Rendering:
    """What one recipient gets besides the tags: their recipient rule (its
    position in the group's list, None: no rule) and their language."""

    rule: int | None = None
    language: str | None = None


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower().rstrip(".")


def _unique(rcpts: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    unique = []
    for rcpt in rcpts:
        if rcpt.lower() not in seen:
            seen.add(rcpt.lower())
            unique.append(rcpt)
    return unique


def lower_mode(mode: PrivacyMode, cap: PrivacyMode) -> PrivacyMode:
    """The less tracking of the two."""
    return PrivacyMode(mode if _RANK[mode] >= _RANK[cap] else cap)


def _no_cap(_address: str) -> PrivacyMode:
    return PrivacyMode.PERSONAL


def _same_for_all(_address: str) -> Rendering:
    return Rendering()


def _by_rendering(
    group: list[str], output_of: Callable[[str], Rendering]
) -> dict[Rendering, list[str]]:
    """The recipients by what they get, each list in the client's order."""
    parts: dict[Rendering, list[str]] = {}
    for rcpt in group:
        parts.setdefault(output_of(rcpt), []).append(rcpt)
    return parts


def majority_language(languages: list[str | None]) -> str | None:
    """The language most recipients would get; a tie goes to the one named first."""
    counts = Counter(languages)
    top = max(counts.values(), default=0)
    return next((lang for lang in languages if counts[lang] == top), None)


def split(
    rcpts: Iterable[str],
    mode: PrivacyMode,
    is_internal: Callable[[str], bool],
    copy_id: Callable[[PrivacyMode, tuple[str, ...]], str],
    cap: Callable[[str], PrivacyMode] = _no_cap,
    output_of: Callable[[str], Rendering] = _same_for_all,
) -> list[CopySpec]:
    """The copies of one message, in a stable order: the untracked copies, then
    the personal or domain copies in the order the client gave the recipients,
    then the anonymous copies; where recipients get different renderings,
    their copies follow one another in the order of first appearance."""
    for name in (mode, *{cap(r) for r in rcpts}):
        if name not in MODES:
            raise ValueError(f"unknown privacy mode {name!r}; expected one of {', '.join(MODES)}")
    everyone = _unique(rcpts)
    internal = {r for r in everyone if is_internal(r)}
    external = [r for r in everyone if r not in internal]
    effective = {r: lower_mode(mode, cap(r)) for r in external}

    def copy(privacy: PrivacyMode, group: list[str], **names: str | None) -> CopySpec:
        recipients = tuple(group)
        tracked = privacy is not PrivacyMode.OFF
        return CopySpec(copy_id(privacy, recipients), recipients, tracked, privacy, **names)

    def copies_of(privacy: PrivacyMode, group: list[str], **names: str | None) -> list[CopySpec]:
        return [
            copy(privacy, part, language=rendering.language, **names)
            for rendering, part in _by_rendering(group, output_of).items()
        ]

    # In the client's order, as one copy's envelope.
    untracked = [r for r in everyone if r in internal or effective[r] is PrivacyMode.OFF]
    copies = copies_of(PrivacyMode.OFF, untracked)
    by_domain: dict[str, list[str]] = {}
    for rcpt in external:
        if effective[rcpt] is PrivacyMode.PERSONAL:
            personal = {"recipient": rcpt.lower(), "domain": domain_of(rcpt)}
            copies += copies_of(PrivacyMode.PERSONAL, [rcpt], **personal)
        elif effective[rcpt] is PrivacyMode.DOMAIN:
            by_domain.setdefault(domain_of(rcpt), []).append(rcpt)
    for domain, group in by_domain.items():
        copies += copies_of(PrivacyMode.DOMAIN, group, domain=domain)
    anonymous = [r for r in external if effective[r] is PrivacyMode.ANONYMOUS]
    by_rule: dict[int | None, list[str]] = {}
    for rcpt in anonymous:
        by_rule.setdefault(output_of(rcpt).rule, []).append(rcpt)
    for group in by_rule.values():
        language = majority_language([output_of(r).language for r in group])
        copies.append(replace(copy(PrivacyMode.ANONYMOUS, group), language=language))
    return copies
