"""Shared mailboxes and who may send as them: exactly what the directory and
`[[shared_mailboxes]]` grant, nothing else.

A shared mailbox is an address listed in `[[shared_mailboxes]]`, or a
directory entry whose `members` column is not empty; its addresses are its
main address and its directory aliases. A person may send as it when one of
their addresses is among its members, or when their own `send_as` column
names it. A `send_as` naming anything that is not a shared mailbox grants
nothing: a person's column cannot hand out another person's address.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from config.directory import Directory, Employee
from config.schema_mailboxes import SharedMailboxSection


def _addresses(value: str) -> frozenset[str]:
    return frozenset(a.lower() for a in re.split(r"[;,\s]+", value.strip()) if a)


class SharedMailboxes:
    def __init__(self, directory: Directory, configured: Sequence[SharedMailboxSection]) -> None:
        # mailbox main address -> (its addresses, its members' addresses)
        self._mailboxes: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
        for section in configured:
            entry = directory.find(section.address)
            own = _own(entry) if entry else frozenset({section.address.lower()})
            members = frozenset(m.lower() for m in section.members)
            self._add(
                own, members | (_addresses(entry.extra.get("members", "")) if entry else set())
            )
        for employee in directory:
            members = _addresses(employee.extra.get("members", ""))
            if members:
                self._add(_own(employee), members)
        self._by_address = {a: key for key, (own, _) in self._mailboxes.items() for a in own}
        self._directory = directory

    def _add(self, own: frozenset[str], members: Iterable[str]) -> None:
        key = min(own)
        known, had = self._mailboxes.get(key, (own, frozenset()))
        self._mailboxes[key] = (known | own, had | frozenset(members))

    def __bool__(self) -> bool:
        """Any shared mailbox at all (else no message's headers need reading for one)."""
        return bool(self._mailboxes)

    def is_shared(self, address: str) -> bool:
        return address.strip().lower() in self._by_address

    def addresses_of(self, address: str) -> frozenset[str]:
        """Every address of the shared mailbox `address` belongs to (empty if none)."""
        key = self._by_address.get(address.strip().lower())
        return self._mailboxes[key][0] if key else frozenset()

    def granted_to(self, person: frozenset[str], employee: Employee | None) -> frozenset[str]:
        """The mailbox addresses a person (all their own addresses) may send as."""
        granted: set[str] = set()
        for own, members in self._mailboxes.values():
            if members & person:
                granted |= own
        send_as = _addresses(employee.extra.get("send_as", "")) if employee else frozenset()
        for address in send_as:
            granted |= self.addresses_of(address)
        return frozenset(granted)


def _own(employee: Employee) -> frozenset[str]:
    return frozenset(a.lower() for a in (employee.email, *employee.aliases))
