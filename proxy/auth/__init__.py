"""Who may submit mail: AUTH backends behind one small interface.

A backend answers `await backend.verify(login, password)` with the
`Identity` it proved, `None` for wrong credentials, or raises
`AuthUnavailable` when it cannot tell (LDAP or upstream down): the client
then gets a temporary 454, never a 535 that would make it ask the user for
the password again. Passwords are never logged, stored or kept in memory
longer than the check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from proxy.errors import ProxyError


@dataclass(frozen=True)
class Identity:
    login: str  # what the client sent as user name
    address: str  # the mail address it proved; the sender check starts from it


class AuthUnavailable(ProxyError):
    """The backend could not check the credentials (network, server down)."""


class AuthBackend(Protocol):
    async def verify(self, login: str, password: str) -> Identity | None: ...


__all__ = ["AuthBackend", "AuthUnavailable", "Identity"]
