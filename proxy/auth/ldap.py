"""LDAP bind: the user's own credentials are the check (no service account).

`ldap_user_dn` is a template such as `uid={user},ou=people,dc=example,dc=com`;
the login is escaped as an RDN value (RFC 4514), so `*`, `,` or `=` in a
login cannot change which entry is bound. After a successful bind the entry's
mail attribute gives the address; without one the login is taken as it.
ldap3 is synchronous here and runs in a thread.
"""

from __future__ import annotations

import asyncio

import ldap3
from ldap3.core.exceptions import LDAPBindError, LDAPException, LDAPInvalidCredentialsResult
from ldap3.utils.dn import escape_rdn

from proxy.auth import AuthUnavailable, Identity


class LdapBind:
    def __init__(
        self, url: str, user_dn: str, mail_attribute: str = "mail", timeout: float = 10.0
    ) -> None:
        self.url = url
        self.user_dn = user_dn
        self.mail_attribute = mail_attribute
        self.timeout = timeout

    def _bind(self, login: str, password: str) -> Identity | None:
        if not password:
            # RFC 4513 5.1.2: a bind with a name and no password is an
            # "unauthenticated" bind that many servers let succeed.
            return None
        dn = self.user_dn.format(user=escape_rdn(login))
        # ldap3 packs the receive timeout into a C struct: whole seconds only.
        seconds = max(1, int(self.timeout))
        server = ldap3.Server(self.url, connect_timeout=seconds)
        connection = ldap3.Connection(
            server, user=dn, password=password, receive_timeout=seconds, raise_exceptions=True
        )
        try:
            connection.bind()
        except (LDAPBindError, LDAPInvalidCredentialsResult):
            return None  # wrong password, or no such entry (also 49, RFC 4513 6.3)
        except LDAPException as exc:
            raise AuthUnavailable(f"LDAP {self.url}: {type(exc).__name__}") from None
        try:
            connection.search(dn, "(objectClass=*)", ldap3.BASE, attributes=[self.mail_attribute])
            values = connection.entries[0][self.mail_attribute].values if connection.entries else []
        except LDAPException:
            values = []
        finally:
            connection.unbind()
        address = str(values[0]) if values else login
        return Identity(login=login, address=address.lower())

    async def verify(self, login: str, password: str) -> Identity | None:
        return await asyncio.to_thread(self._bind, login, password)
