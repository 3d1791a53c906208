"""The building blocks of the config sections: the base model (frozen, unknown
keys forbidden), the privacy modes, and the validated value types (host:port,
domains, URLs, file names inside the config directory, address globs)."""

from __future__ import annotations

import re
import string
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

DEFAULT_TRUSTED_NETWORKS = ("127.0.0.0/8", "::1/128")
SLUG = r"^[a-z0-9][a-z0-9_-]{0,63}$"


class Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PrivacyMode(StrEnum):
    PERSONAL = "personal"  # a copy per recipient; the address is stored
    DOMAIN = "domain"  # a copy per recipient domain; only the domain is stored
    ANONYMOUS = "anonymous"  # one copy; nothing about recipients is stored
    OFF = "off"  # one copy; no tracking tags at all


def _host_port(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected host:port such as 127.0.0.1:2525, got {value!r}")
    return value


def _domain(value: str) -> str:
    value = value.strip().lower().rstrip(".")
    if not re.fullmatch(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?", value) or ".." in value:
        raise ValueError(f"not a domain name: {value!r}")
    return value


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
    return value.rstrip("/")


def _plain_file_name(value: str) -> str:
    # Template and banner names are looked up inside the config directory;
    # no absolute paths or "..", so a config cannot reach other files.
    path = Path(value)
    if not value or path.is_absolute() or ".." in path.parts:
        raise ValueError(f"expected a file name inside the config directory, got {value!r}")
    return value


def address_glob(value: str) -> str:
    value = value.strip().lower()
    if value.count("@") != 1 or any(c.isspace() for c in value):
        raise ValueError(f"address glob needs exactly one '@' and no spaces, got {value!r}")
    if value.count("[") != value.count("]"):
        raise ValueError(f"unbalanced '[' ']' in address glob {value!r}")
    return value


HostPort = Annotated[str, AfterValidator(_host_port)]
Domain = Annotated[str, AfterValidator(_domain)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]
FileName = Annotated[str, AfterValidator(_plain_file_name)]
Slug = Annotated[str, Field(pattern=SLUG)]
AddressGlob = Annotated[str, AfterValidator(address_glob)]


def split_host_port(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


UTM_NAMES = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


def _utm(value: dict[str, str]) -> dict[str, str]:
    for name, text in value.items():
        if name not in UTM_NAMES:
            raise ValueError(f"unknown UTM parameter {name!r}; known: {', '.join(UTM_NAMES)}")
        if not text.strip():
            raise ValueError(f"{name} is empty")
        try:
            fields = {field for _, field, _, _ in string.Formatter().parse(text) if field}
        except ValueError as exc:
            raise ValueError(f"{name}: {exc} (write {{{{ and }}}} for braces)") from None
        if fields - {"campaign", "variant", "group"}:
            raise ValueError(f"{name} may name {{campaign}}, {{variant}}, {{group}}; got {text!r}")
    return value


# Added to tracked links; values may name {campaign}, {variant} and {group}.
Utm = Annotated[dict[str, str], AfterValidator(_utm)]
