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
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

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


def split(
    rcpts: Iterable[str],
    mode: PrivacyMode,
    is_internal: Callable[[str], bool],
    copy_id: Callable[[PrivacyMode, tuple[str, ...]], str],
    cap: Callable[[str], PrivacyMode] = _no_cap,
) -> list[CopySpec]:
    """The copies of one message, in a stable order: the untracked copy, then
    the personal or domain copies in the order the client gave the recipients,
    then the anonymous copy."""
    for name in (mode, *{cap(r) for r in rcpts}):
        if name not in MODES:
            raise ValueError(f"unknown privacy mode {name!r}; expected one of {', '.join(MODES)}")
    everyone = _unique(rcpts)
    internal = {r for r in everyone if is_internal(r)}
    external = [r for r in everyone if r not in internal]
    effective = {r: lower_mode(mode, cap(r)) for r in external}

    def copy(privacy: PrivacyMode, group: list[str], **names: str) -> CopySpec:
        recipients = tuple(group)
        tracked = privacy is not PrivacyMode.OFF
        return CopySpec(copy_id(privacy, recipients), recipients, tracked, privacy, **names)

    # In the client's order, as one copy's envelope.
    untracked = [r for r in everyone if r in internal or effective[r] is PrivacyMode.OFF]
    copies = [copy(PrivacyMode.OFF, untracked)] if untracked else []
    by_domain: dict[str, list[str]] = {}
    for rcpt in external:
        if effective[rcpt] is PrivacyMode.PERSONAL:
            personal = {"recipient": rcpt.lower(), "domain": domain_of(rcpt)}
            copies.append(copy(PrivacyMode.PERSONAL, [rcpt], **personal))
        elif effective[rcpt] is PrivacyMode.DOMAIN:
            by_domain.setdefault(domain_of(rcpt), []).append(rcpt)
    copies += [
        copy(PrivacyMode.DOMAIN, group, domain=domain) for domain, group in by_domain.items()
    ]
    anonymous = [r for r in external if effective[r] is PrivacyMode.ANONYMOUS]
    if anonymous:
        copies.append(copy(PrivacyMode.ANONYMOUS, anonymous))
    return copies
