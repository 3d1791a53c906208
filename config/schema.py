"""The sections of sigrelay.toml as frozen pydantic models.

`extra="forbid"` everywhere: a misspelt key is an error naming the key, not a
setting silently ignored. Values are normalised here (domains lower-cased,
URLs without trailing slash) so the rest of the code can compare them as is.
Cross-section rules (campaigns naming existing groups, one default group,
banner files present) live in config/consistency.py, where they can name the
exact field that is wrong.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyNetwork,
    ValidationInfo,
    field_validator,
    model_validator,
)

from rewriter import LinkMode

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


def _address_glob(value: str) -> str:
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


def split_host_port(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


class ListenerMode(StrEnum):
    SUBMISSION = "submission"  # port 587: STARTTLS offered, AUTH required (RFC 6409)
    SMTPS = "smtps"  # port 465: implicit TLS, AUTH required (RFC 8314)
    PLAIN = "plain"  # trusted networks only, e.g. behind Postfix as a content filter


class ListenerSection(Section):
    listen: HostPort
    mode: ListenerMode = ListenerMode.PLAIN


class RelaySection(Section):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    listen: HostPort = "127.0.0.1:2525"  # a plain listener, used when `listeners` is empty
    listeners: tuple[ListenerSection, ...] = ()
    hostname: str = "localhost"
    trusted_networks: tuple[IPvAnyNetwork, ...] = DEFAULT_TRUSTED_NETWORKS  # type: ignore[assignment]
    max_message_size: int = Field(default=25 * 1024 * 1024, gt=0)
    max_recipients: int = Field(default=100, gt=0)
    # A copy still undeliverable this long after acceptance bounces (Postfix:
    # maximal_queue_lifetime, also 5 days).
    max_age_days: float = Field(default=5.0, gt=0)
    # PEM files, relative to the config directory; re-read when they change.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    auth_backend: Literal["users", "ldap", "passthrough"] = "users"
    users_file: Path | None = None  # default: <data dir>/users
    ldap_url: str | None = None  # ldap://host:389 or ldaps://host:636
    ldap_user_dn: str = "uid={user},ou=people,dc=example,dc=com"
    ldap_mail_attribute: str = "mail"
    auth_cache_seconds: float = Field(default=300.0, ge=0)  # pass-through successes
    auth_on_loopback_without_tls: bool = False
    # AUTH throttle per (client IP, user) and per client IP (proxy/throttle.py).
    auth_max_failures: int = Field(default=5, gt=0)
    auth_max_failures_per_ip: int = Field(default=20, gt=0)
    auth_block_seconds: float = Field(default=60.0, ge=0)  # doubled per further failure
    auth_failure_window: float = Field(default=900.0, gt=0)
    auth_failure_delay: float = Field(default=1.0, ge=0)  # doubled per failure
    command_timeout: float = Field(default=300.0, gt=0)  # RFC 5321 4.5.3.2.7
    max_connections_per_ip: int = Field(default=20, gt=0)
    max_connections: int = Field(default=500, gt=0)  # all clients together, then 421
    data_timeout: float = Field(default=600.0, gt=0)  # s for all of DATA (RFC 5321 4.5.3.2.6)
    # Relay processes sharing the listeners and the spool (proxy/workers.py): one
    # process runs Python on one core at a time; set it to the number of cores.
    workers: int = Field(default=1, ge=1, le=64)

    @property
    def address(self) -> tuple[str, int]:
        return split_host_port(self.listen)

    @property
    def effective_listeners(self) -> tuple[ListenerSection, ...]:
        return self.listeners or (ListenerSection(listen=self.listen),)

    @model_validator(mode="after")
    def _tls_for_tls_listeners(self) -> RelaySection:
        needs_tls = [item.listen for item in self.listeners if item.mode != ListenerMode.PLAIN]
        if needs_tls and (self.tls_cert is None or self.tls_key is None):
            raise ValueError(f"listeners {needs_tls} use TLS: set tls_cert and tls_key (PEM files)")
        if self.auth_backend == "ldap" and not self.ldap_url:
            raise ValueError('auth_backend = "ldap" needs ldap_url')
        return self


class UpstreamSection(Section):
    """Where delivery sends copies. Secrets never live in the TOML: the
    password comes from an environment variable or a file (loader resolves it)."""

    url: str = "maildir:outbox"
    username: str | None = None
    password_env: str | None = None
    password_file: Path | None = None
    # CA bundle (PEM) that verifies the upstream's certificate with smtps:// or
    # ?tls=required (default: the system's trust store).
    ca_file: Path | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_inline_secret(cls, data: Any) -> Any:
        if isinstance(data, dict) and "password" in data:
            raise ValueError(
                "password must not be written in the TOML; "
                "set password_env = NAME_OF_VARIABLE or password_file = PATH"
            )
        return data

    @model_validator(mode="after")
    def _known_scheme(self) -> UpstreamSection:
        parse_upstream(self.url)
        return self


class UpstreamEndpoint(BaseModel):
    """A parsed upstream URL: `smtp://h:p[?tls=required]`, `smtps://h:p`, `maildir:PATH`."""

    model_config = ConfigDict(frozen=True)
    scheme: Literal["smtp", "smtps", "maildir"]
    host: str = ""
    port: int = 0
    tls_required: bool = False
    path: Path | None = None


def parse_upstream(url: str) -> UpstreamEndpoint:
    if url.startswith("maildir:"):
        path = url.removeprefix("maildir:").removeprefix("//")
        if not path:
            raise ValueError("maildir: needs a path, e.g. maildir:outbox")
        return UpstreamEndpoint(scheme="maildir", path=Path(path))
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError(f"upstream URL must start with smtp://, smtps:// or maildir:, got {url!r}")
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 25)
    except ValueError as exc:
        raise ValueError(f"bad port in upstream URL {url!r}") from exc
    if not parts.hostname:
        raise ValueError(f"upstream URL {url!r} has no host")
    query = parse_qs(parts.query)
    unknown = set(query) - {"tls"}
    if unknown or query.get("tls", ["required"]) != ["required"]:
        raise ValueError(f"the only query option is ?tls=required, got {parts.query!r}")
    return UpstreamEndpoint(
        scheme=parts.scheme,  # type: ignore[arg-type]
        host=parts.hostname,
        port=port,
        tls_required=parts.scheme == "smtps" or "tls" in query,
    )


class TrackerSection(Section):
    listen: HostPort = "127.0.0.1:8080"
    public_url: HttpUrl = "http://127.0.0.1:8080"
    # Reverse proxies whose X-Forwarded-For is believed (default: none, so the
    # peer address is the client); anyone else could forge the header.
    trusted_proxies: tuple[IPvAnyNetwork, ...] = ()  # type: ignore[assignment]
    # A click this soon after the copy was sent is a security scanner's (0: off).
    scanner_click_seconds: float = Field(default=10.0, ge=0)
    # Different links of one copy clicked this close together: a scanner (0: off).
    scanner_burst_seconds: float = Field(default=1.0, ge=0)
    # One client (address and agent) clicking in this many different recipients'
    # copies within scanner_spray_seconds: a scanner (0: off). tracker/spray.py
    scanner_spray_copies: int = Field(default=3, ge=0)
    scanner_spray_seconds: float = Field(default=5.0, ge=0)
    # Who may read /metrics (the tracker faces the internet): Prometheus' networks.
    metrics_networks: tuple[IPvAnyNetwork, ...] = Field(
        default=("127.0.0.0/8", "::1/128"), validate_default=True
    )
    # Dashboard login throttle and argon2 checks at a time (tracker/dashboard/auth.py).
    login_max_failures: int = Field(default=5, gt=0)
    login_block_seconds: float = Field(default=60.0, ge=0)
    login_failure_window: float = Field(default=900.0, gt=0)
    login_concurrency: int = Field(default=2, gt=0)
    landing_allow_http: bool = False  # /t/e from http:// origins (development sites)

    @property
    def address(self) -> tuple[str, int]:
        return split_host_port(self.listen)


class StoreSection(Section):
    url: str  # the loader fills the SQLite default in the data directory


class DataSection(Section):
    dir: Path  # the loader resolves it to an absolute path


class CompanySection(Section):
    name: str = ""
    internal_domains: tuple[Domain, ...] = ()
    # Company websites: a click there carries a signed visit id (sr_vid) that
    # the landing page's /t.js reports page views and downloads with.
    landing_domains: tuple[Domain, ...] = ()


class PrivacySection(Section):
    default_mode: PrivacyMode = PrivacyMode.PERSONAL  # for groups that set none
    require_consent: bool = False
    without_consent: Literal["anonymous", "off"] = "anonymous"
    # Landing visits with `Sec-GPC: 1` or `DNT: 1`: without the copy's identity, or none.
    gpc: Literal["anonymous", "off"] = "anonymous"
    retention_days: int = Field(default=365, gt=0)
    event_retention_days: int = Field(default=180, gt=0)
    store_ip: Literal["none", "truncated"] = "none"
    tracking_enabled: bool = True  # the global switch: False means no tags anywhere
    # A subject containing this (any case) is sent untracked; the tag is removed.
    notrack_tag: str = Field(default="[notrack]", min_length=1)


class MatchRule(Section):
    """One way a sender joins a group; exactly one of the three is set."""

    address: Annotated[str, AfterValidator(_address_glob)] | None = None
    domain: Domain | None = None
    department: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> MatchRule:
        given = [k for k in ("address", "domain", "department") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a match rule sets exactly one of address, domain, department")
        return self


class GroupSection(Section):
    name: Slug
    privacy: PrivacyMode | None = None  # None: privacy.default_mode
    signature_html: FileName
    signature_text: FileName
    reply_html: FileName | None = None
    reply_text: FileName | None = None
    link_mode: LinkMode = LinkMode.SIGNATURE
    excluded_domains: tuple[Domain, ...] = ()
    embed_images: bool = False
    track_text_links: bool = False  # a tracker URL in text/plain reads like phishing
    language: Literal["en", "de"] = "en"  # of the opt-out link under the signature
    # Personal mode only: mail the sender when a recipient clicks or visits.
    notify_sender: bool = False
    match: tuple[MatchRule, ...] = ()


class VariantSection(Section):
    id: Slug
    image: FileName  # under banners/
    alt: str = ""
    link: HttpUrl | None = None
    weight: int = Field(default=1, gt=0)
    width: int | None = Field(default=None, gt=0)
    height: int | None = Field(default=None, gt=0)


class RecipientScope(StrEnum):
    ALL = "all"
    INTERNAL = "internal"  # company domains only (an internal announcement)
    EXTERNAL = "external"


class BannerDelivery(StrEnum):
    HOSTED = "hosted"  # an image URL on the tracker: impressions are counted
    EMBEDDED = "embedded"  # a CID image part: shows with images blocked, counts nothing


class CampaignSection(Section):
    id: Slug
    name: str = ""
    groups: tuple[str, ...] = Field(min_length=1)
    # A fallback campaign runs whenever no scheduled one does: no start or end needed.
    fallback: bool = False
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    priority: int = 0
    # Recipient targeting; empty lists target everyone. A copy for several
    # recipients matches only when every one of them does.
    recipients: RecipientScope = RecipientScope.ALL
    recipient_domains: tuple[Domain, ...] = ()
    recipient_addresses: tuple[Annotated[str, AfterValidator(_address_glob)], ...] = ()
    # Personal mode only: shown to recipients who clicked campaign `follow_up_of`.
    follow_up_of: Annotated[str, Field(pattern=SLUG)] | None = None
    delivery: BannerDelivery = BannerDelivery.HOSTED
    variants: tuple[VariantSection, ...] = Field(min_length=1)

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, end: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("start")
        if start is not None and end is not None and end <= start:
            raise ValueError(f"end ({end.isoformat()}) must be after start ({start.isoformat()})")
        return end

    @model_validator(mode="after")
    def _scheduled_or_fallback(self) -> CampaignSection:
        if not self.fallback and (self.start is None or self.end is None):
            raise ValueError("a campaign needs start and end (or fallback = true)")
        return self

    @field_validator("variants")
    @classmethod
    def _unique_variant_ids(cls, variants: tuple[VariantSection, ...]) -> tuple:
        ids = [v.id for v in variants]
        if len(ids) != len(set(ids)):
            raise ValueError(f"variant ids must be unique, got {ids}")
        return variants

    def active(self, now: datetime) -> bool:
        started = self.start is None or self.start <= now
        return started and (self.end is None or now < self.end)

    def variant(self, variant_id: str) -> VariantSection | None:
        return next((v for v in self.variants if v.id == variant_id), None)


class WebhookSection(Section):
    """An HTTP endpoint that receives events as signed JSON (X-Sigrelay-Signature)."""

    url: HttpUrl
    events: tuple[Literal["open", "impression", "click", "optout", "visit"], ...] = (
        "click",
        "visit",
    )
    # The HMAC secret comes from this environment variable, never from the TOML.
    secret_env: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")


class DkimSection(Section):
    """DKIM signing of the rewritten copies, for upstreams that do not sign.
    The private key is read from key_file (PEM, relative to the config
    directory), never written into the TOML."""

    enabled: bool = False
    selector: str = Field(default="sigrelay", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
    domain: Domain | None = None
    key_file: Path | None = None

    @model_validator(mode="after")
    def _complete_when_enabled(self) -> DkimSection:
        if self.enabled and (self.domain is None or self.key_file is None):
            raise ValueError("dkim.enabled needs domain and key_file")
        return self


class AdminSection(Section):
    """An admin of the dashboard. Only the argon2 hash is kept (`sigrelay admin hash`)."""

    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\s|]+$")]
    password_hash: Annotated[str, Field(pattern=r"^\$argon2(id|i|d)\$")]


class ApiTokenSection(Section):
    """A bearer token for /api/v1: its SHA-256 (`sha256:<hex>`, `sigrelay admin token`)
    in the TOML, or the token itself in an environment variable (`token_env`)."""

    name: Annotated[str, Field(min_length=1, max_length=64)]
    token_hash: Annotated[str, Field(pattern=r"^sha256:[0-9a-f]{64}$")] | None = None
    token_env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = None

    @model_validator(mode="after")
    def _exactly_one_source(self) -> ApiTokenSection:
        if (self.token_hash is None) == (self.token_env is None):
            raise ValueError("an API token sets exactly one of token_hash, token_env")
        return self


Group = GroupSection
Campaign = CampaignSection
Variant = VariantSection
