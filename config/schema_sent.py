"""`[sent_items]`: the rewritten message appended to the sender's Sent folder
over IMAP, logged in with admin credentials (proxy/sent_items.py)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, model_validator

from config.schema_types import Section


class ImapTls(StrEnum):
    IMPLICIT = "implicit"  # imaps://, port 993
    STARTTLS = "starttls"  # imap://, port 143, upgraded before login
    NONE = "none"  # plain text: a server on loopback or in a private network only


class ClientCopy(StrEnum):
    KEEP = "keep"  # the mail program's own copy stays beside ours
    REPLACE = "replace"  # the mail program's copy (same Message-ID) is deleted


def _imap_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("imap", "imaps") or not parts.hostname:
        raise ValueError(f"expected imap://host[:port] or imaps://host[:port], got {value!r}")
    return value


class SentItemsSection(Section):
    """Append what recipients got to the sender's Sent folder (IMAP)."""

    enabled: bool = False  # off: mail programs keep only their own copy
    url: Annotated[str, AfterValidator(_imap_url)] = "imaps://127.0.0.1:993"  # the IMAP server
    tls: ImapTls | None = None  # unset: implicit for imaps://, starttls for imap://
    # The login for a mailbox: Dovecot master user "{user}*sigrelay", or "{user}"
    # where the server lets an admin act for anyone (IMAP impersonation).
    login: str = "{user}*sigrelay"
    password_env: str | None = None  # the variable holding the admin password
    password_file: Path | None = None  # or a file (config directory relative)
    folder: str = "auto"  # auto: the folder marked \Sent (RFC 6154), else "Sent"
    client_copy: ClientCopy = ClientCopy.KEEP  # keep or replace the mail program's copy
    # How long the mail program may take to save its own copy (replace only).
    replace_within_seconds: float = Field(default=120.0, gt=0)
    attempts: int = Field(default=3, ge=1)  # then the Sent copy is given up (logged)
    timeout_seconds: float = Field(default=30.0, gt=0)  # connect and each command

    @property
    def default_tls(self) -> ImapTls:
        return ImapTls.IMPLICIT if self.url.startswith("imaps:") else ImapTls.STARTTLS

    @property
    def effective_tls(self) -> ImapTls:
        return self.tls or self.default_tls

    @property
    def address(self) -> tuple[str, int]:
        parts = urlsplit(self.url)
        default = 993 if parts.scheme == "imaps" else 143
        return parts.hostname or "", parts.port or default

    @model_validator(mode="after")
    def _password_when_enabled(self) -> SentItemsSection:
        if self.enabled and not (self.password_env or self.password_file):
            raise ValueError("sent_items needs password_env or password_file")
        if "{user}" not in self.login:
            raise ValueError('login must contain "{user}" (the sender\'s mailbox)')
        return self
