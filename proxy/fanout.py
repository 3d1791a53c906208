"""Fan-out: how a message's recipients split into copies (DESIGN.md "Fan-out").

Pure: the privacy mode, the internal-domain test and the copy-id source are
parameters. Tracking tags can only tell recipients apart if each gets its own
copy, so the split follows the sender group's privacy mode:

    personal   one tracked copy per external recipient
    domain     one tracked copy per external recipient domain
    anonymous  one tracked copy for all external recipients
    off        one untracked copy for everyone

Internal recipients (company domains) never get tracking tags: they share one
untracked copy. Recipients are compared case-insensitively and never repeated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

PERSONAL, DOMAIN, ANONYMOUS, OFF = "personal", "domain", "anonymous", "off"
MODES = (PERSONAL, DOMAIN, ANONYMOUS, OFF)


@dataclass(frozen=True)
class CopySpec:
    copy_id: str
    recipients: tuple[str, ...]
    tracked: bool
    privacy: str  # the mode this copy is recorded under; "off" for untracked copies
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


def split(
    rcpts: Iterable[str],
    mode: str,
    is_internal: Callable[[str], bool],
    new_id: Callable[[], str],
) -> list[CopySpec]:
    """The copies of one message, in a stable order: internal first, then
    external in the order the client gave the recipients."""
    if mode not in MODES:
        raise ValueError(f"unknown privacy mode {mode!r}; expected one of {', '.join(MODES)}")
    everyone = _unique(rcpts)
    if mode == OFF:
        return [CopySpec(new_id(), tuple(everyone), False, OFF)] if everyone else []

    internal = [r for r in everyone if is_internal(r)]
    external = [r for r in everyone if not is_internal(r)]
    copies = [CopySpec(new_id(), tuple(internal), False, OFF)] if internal else []
    if mode == PERSONAL:
        copies += [
            CopySpec(new_id(), (r,), True, PERSONAL, recipient=r.lower(), domain=domain_of(r))
            for r in external
        ]
    elif mode == DOMAIN:
        by_domain: dict[str, list[str]] = {}
        for rcpt in external:
            by_domain.setdefault(domain_of(rcpt), []).append(rcpt)
        copies += [
            CopySpec(new_id(), tuple(group), True, DOMAIN, domain=domain)
            for domain, group in by_domain.items()
        ]
    elif external:
        copies.append(CopySpec(new_id(), tuple(external), True, ANONYMOUS))
    return copies
