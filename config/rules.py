"""Which group a sender belongs to.

Groups are tried in the order of the TOML; within a group any one of its
match rules is enough; the first group that matches wins. A sender no rule
matches belongs to the default group: the group named "default", else the
last group that has no match rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from config.directory import Employee
from config.schema import GroupSection, MatchRule


@dataclass(frozen=True)
class Sender:
    address: str
    employee: Employee | None
    group: GroupSection


def domain_of(address: str) -> str:
    return address.strip().strip("<>").rpartition("@")[2].lower().rstrip(".")


def rule_matches(rule: MatchRule, address: str, employee: Employee | None) -> bool:
    if rule.address is not None:
        # Globs are lower-cased when validated; addresses compare case-insensitively.
        return fnmatchcase(address.strip().lower(), rule.address)
    if rule.domain is not None:
        return domain_of(address) == rule.domain
    department = employee.department if employee else ""
    return bool(department) and department.casefold() == (rule.department or "").casefold()


def default_group(groups: Sequence[GroupSection]) -> GroupSection | None:
    named = next((g for g in groups if g.name == "default"), None)
    if named is not None:
        return named
    without_rules = [g for g in groups if not g.match]
    return without_rules[-1] if without_rules else None


def match_group(
    groups: Sequence[GroupSection], address: str, employee: Employee | None
) -> GroupSection:
    """The sender's group. The loader guarantees a default group exists."""
    for group in groups:
        if any(rule_matches(rule, address, employee) for rule in group.match):
            return group
    fallback = default_group(groups)
    if fallback is None:  # pragma: no cover - consistency.py rejects such configs
        raise LookupError("no default group")
    return fallback
