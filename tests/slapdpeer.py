"""A private OpenLDAP slapd (Debian `slapd`) on a free loopback port, from a temp dir.

The directory is loaded with slapadd before slapd starts (no admin password
needed); slapd runs in the foreground (-d 0) and is stopped by its PID.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from peers import free_port, require_binary, wait_listening

SUFFIX = "dc=example,dc=com"
USER_DN = "uid={user},ou=people," + SUFFIX

_CONFIG = """\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
{schema}
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {root}/slapd.pid
database mdb
suffix "{suffix}"
rootdn "cn=admin,{suffix}"
{rootpw}
directory {root}/db
{access}
"""
ACCESS = """\
access to attrs=userPassword by anonymous auth by self read by * none
access to * by self read by * none"""


@dataclass(frozen=True)
class LdapUser:
    uid: str
    mail: str
    password: str


def _ldif(users: list[LdapUser], hash_password) -> str:
    entries = [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\n"
        "o: Example\ndc: example\n",
        f"dn: ou=people,{SUFFIX}\nobjectClass: organizationalUnit\nou: people\n",
    ]
    for user in users:
        entries.append(
            f"dn: uid={user.uid},ou=people,{SUFFIX}\nobjectClass: inetOrgPerson\n"
            f"uid: {user.uid}\ncn: {user.uid}\nsn: {user.uid}\nmail: {user.mail}\n"
            f"userPassword: {hash_password(user.password)}\n"
        )
    return "\n".join(entries)


class Slapd:
    """`users` become inetOrgPerson entries under ou=people; `entries` is more
    LDIF (with {hash:PASSWORD} for a password hash), `schema` more slapd.conf
    schema lines, `access` the ACL, `admin_password` the rootdn's password."""

    def __init__(
        self,
        root: Path,
        users: list[LdapUser],
        *,
        entries: str = "",
        schema: str = "",
        access: str = ACCESS,
        admin_password: str | None = None,
    ) -> None:
        self.root = root
        self.users = users
        self.entries = entries
        self.schema = schema
        self.access = access
        self.admin_password = admin_password
        self.port = free_port()
        self._process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        slapd, slapadd = require_binary("slapd"), require_binary("slapadd", "slapd")
        slappasswd = require_binary("slappasswd", "slapd")

        def hash_password(password: str) -> str:
            result = subprocess.run([slappasswd, "-s", password], capture_output=True, text=True)
            return result.stdout.strip()

        (self.root / "db").mkdir(parents=True)
        config = self.root / "slapd.conf"
        rootpw = f"rootpw {hash_password(self.admin_password)}" if self.admin_password else ""
        config.write_text(
            _CONFIG.format(
                root=self.root, suffix=SUFFIX, schema=self.schema, rootpw=rootpw, access=self.access
            )
        )
        more = re.sub(r"\{hash:([^}]*)\}", lambda m: hash_password(m.group(1)), self.entries)
        ldif = self.root / "people.ldif"
        ldif.write_text(_ldif(self.users, hash_password) + ("\n" + more if more else ""))
        subprocess.run(
            [slapadd, "-f", str(config), "-l", str(ldif)], check=True, capture_output=True
        )
        self._process = subprocess.Popen(
            [slapd, "-d", "0", "-f", str(config), "-h", f"{self.url}/"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        wait_listening(self._process, self.port, timeout)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None
