"""`[directory]`: where the employees come from. A CSV in the config directory
(the default), or an LDAP / Active Directory server that `sigrelay directory
sync` reads into a CSV in the data directory (config/directory_ldap.py)."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Annotated

from pydantic import Field, model_validator

from config.schema_types import FileName, Section

# Directory column <- Active Directory attribute (inetOrgPerson has all but department).
AD_ATTRIBUTES = MappingProxyType(
    {
        "email": "mail",
        "name": "displayName",
        "title": "title",
        "phone": "telephoneNumber",
        "mobile": "mobile",
        "department": "department",
    }
)


class LdapDirectorySection(Section):
    """Read employees from LDAP / Active Directory (`sigrelay directory sync`)."""

    url: Annotated[str, Field(pattern=r"^ldaps?://")]  # ldap://dc1:389 or ldaps://dc1:636
    base_dn: str  # where people are searched, e.g. "ou=Staff,dc=example,dc=com"
    # The search account; anonymous bind when unset. Its password comes from
    # an environment variable or a file, never from the TOML.
    bind_dn: str | None = None
    password_env: str | None = None  # the variable holding the bind password
    password_file: Path | None = None  # or a file (config directory relative)
    # Which entries are people; the default fits Active Directory and OpenLDAP.
    filter: str = "(&(objectClass=person)(mail=*))"
    # Directory column = LDAP attribute; extra columns become template fields.
    attributes: dict[str, str] = Field(default_factory=lambda: dict(AD_ATTRIBUTES))
    # Attribute whose "smtp:" values (Exchange) or plain addresses are aliases.
    alias_attribute: str = "proxyAddresses"
    # First attribute present gives the photo (JPEG or PNG), hosted as an image.
    photo_attributes: tuple[str, ...] = ("thumbnailPhoto", "jpegPhoto")
    # Disabled accounts are left out: AD's userAccountControl bit 2 always, and
    # entries where this attribute is present and not "false" (e.g. nsAccountLock).
    disabled_attribute: str | None = None
    interval_minutes: float = Field(default=15.0, ge=0)  # 0: only `directory sync`
    timeout_seconds: int = Field(default=10, gt=0)  # connect and each response
    ca_file: Path | None = None  # PEM bundle for ldaps:// (default: system trust store)

    @model_validator(mode="after")
    def _email_mapped(self) -> LdapDirectorySection:
        if "email" not in self.attributes:
            raise ValueError('attributes needs an "email" entry (usually "mail")')
        if self.password_env and self.password_file:
            raise ValueError("set password_env or password_file, not both")
        return self


class DirectorySection(Section):
    """Where the employees (template fields, aliases, departments) come from."""

    # The employee CSV in the config directory (ignored when [directory.ldap] is set).
    csv: FileName = "employees.csv"
    # Read employees from LDAP / Active Directory instead (`sigrelay directory sync`).
    ldap: LdapDirectorySection | None = None


def synced_directory_file(data_dir: Path) -> Path:
    """Where `directory sync` keeps the employees it read (photos beside it)."""
    return data_dir / "directory" / "employees.csv"


def employee_file(section: DirectorySection, config_dir: Path, data_dir: Path) -> Path:
    """The employee CSV: the admin's, or the last LDAP sync's."""
    if section.ldap is not None:
        return synced_directory_file(data_dir)
    return config_dir / section.csv
