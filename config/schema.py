"""The sections of sigrelay.toml as frozen pydantic models.

`extra="forbid"` everywhere: a misspelt key is an error naming the key, not a
setting silently ignored. Values are normalised here (domains lower-cased,
URLs without trailing slash) so the rest of the code can compare them as is.
Cross-section rules (campaigns naming existing groups, one default group,
banner files present) live in config/consistency.py, where they can name the
exact field that is wrong. The value types are in config/schema_types.py, the
campaigns in config/schema_campaigns.py, `[directory]` in
config/schema_directory.py; this module names them all.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict, Field, IPvAnyNetwork, model_validator

from config.schema_campaigns import (
    BannerDelivery,
    CampaignSection,
    RecipientScope,
    VariantSection,
)
from config.schema_recipients import Language, RecipientRuleSection
from config.schema_types import (
    DEFAULT_TRUSTED_NETWORKS,
    SLUG,
    AddressGlob,
    Domain,
    FileName,
    HostPort,
    HttpUrl,
    PrivacyMode,
    Section,
    Slug,
    Utm,
    split_host_port,
)
from rewriter import LinkMode

__all__ = [
    "DEFAULT_TRUSTED_NETWORKS",
    "SLUG",
    "BannerDelivery",
    "CampaignSection",
    "Domain",
    "FileName",
    "HostPort",
    "HttpUrl",
    "PrivacyMode",
    "RecipientScope",
    "Section",
    "Slug",
    "VariantSection",
    "split_host_port",
]


class ListenerMode(StrEnum):
    SUBMISSION = "submission"  # port 587: STARTTLS offered, AUTH required (RFC 6409)
    SMTPS = "smtps"  # port 465: implicit TLS, AUTH required (RFC 8314)
    PLAIN = "plain"  # trusted networks only, e.g. behind Postfix as a content filter


class ListenerSection(Section):
    listen: HostPort  # address:port to accept mail on, e.g. "0.0.0.0:587"
    mode: ListenerMode = ListenerMode.PLAIN  # submission (587), smtps (465) or plain


class RelaySection(Section):
    """The SMTP side: where mail clients submit, who may, and the limits."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    listen: HostPort = "127.0.0.1:2525"  # a plain listener, used when `listeners` is empty
    # Several listeners with their own mode; TLS modes need tls_cert and tls_key.
    listeners: tuple[ListenerSection, ...] = ()
    hostname: str = "localhost"  # the name the relay greets with (EHLO, Received:)
    # Clients that may send without AUTH on plain listeners (mail clients, Postfix).
    trusted_networks: tuple[IPvAnyNetwork, ...] = DEFAULT_TRUSTED_NETWORKS  # type: ignore[assignment]
    max_message_size: int = Field(default=25 * 1024 * 1024, gt=0)  # bytes (SIZE), then 552
    max_recipients: int = Field(default=100, gt=0)  # per message, then 452
    # A copy still undeliverable this long after acceptance bounces (Postfix:
    # maximal_queue_lifetime, also 5 days).
    max_age_days: float = Field(default=5.0, gt=0)
    # PEM files, relative to the config directory; re-read when they change.
    tls_cert: Path | None = None
    tls_key: Path | None = None  # its private key
    # Who may AUTH: the users file (`sigrelay user add`), an LDAP bind, or the upstream.
    auth_backend: Literal["users", "ldap", "passthrough"] = "users"
    users_file: Path | None = None  # the users file of `sigrelay user`; default: <data dir>/users
    ldap_url: str | None = None  # ldap://host:389 or ldaps://host:636
    ldap_user_dn: str = "uid={user},ou=people,dc=example,dc=com"  # {user}: the AUTH name
    ldap_mail_attribute: str = "mail"  # the addresses an LDAP user may send as
    auth_cache_seconds: float = Field(default=300.0, ge=0)  # s a pass-through login is remembered
    auth_on_loopback_without_tls: bool = False  # AUTH over plain text, loopback only (tests)
    # AUTH throttle per (client IP, user) and per client IP (proxy/throttle.py).
    auth_max_failures: int = Field(default=5, gt=0)
    auth_max_failures_per_ip: int = Field(default=20, gt=0)  # all users of one IP
    auth_block_seconds: float = Field(default=60.0, ge=0)  # s blocked, doubled per further failure
    auth_failure_window: float = Field(default=900.0, gt=0)  # s in which failures add up
    auth_failure_delay: float = Field(default=1.0, ge=0)  # s before a refusal, doubled per failure
    command_timeout: float = Field(
        default=300.0, gt=0
    )  # s idle between commands (RFC 5321 4.5.3.2.7)
    max_connections_per_ip: int = Field(default=20, gt=0)  # one client at once, then 421
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

    # smtp://host:port[?tls=required], smtps://host:port, or maildir:PATH (data dir relative)
    url: str = "maildir:outbox"
    username: str | None = None  # AUTH at the upstream, if it wants it
    password_env: str | None = None  # the environment variable holding the password
    password_file: Path | None = None  # or a file holding it (config directory relative)
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
    """The HTTP side: pixel, banners, clicks, opt-out page, dashboard, API."""

    listen: HostPort = "127.0.0.1:8080"  # where the tracker's HTTP server listens
    # How recipients reach the tracker (pixel, clicks, opt-out): an https URL in production.
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
    scanner_spray_seconds: float = Field(default=5.0, ge=0)  # the window for spray copies
    # Who may read /metrics (the tracker faces the internet): Prometheus' networks.
    metrics_networks: tuple[IPvAnyNetwork, ...] = Field(
        default=("127.0.0.0/8", "::1/128"), validate_default=True
    )
    # Dashboard login throttle and argon2 checks at a time (tracker/dashboard/auth.py).
    login_max_failures: int = Field(default=5, gt=0)
    login_block_seconds: float = Field(default=60.0, ge=0)  # after login_max_failures
    login_failure_window: float = Field(default=900.0, gt=0)  # s in which failures add up
    login_concurrency: int = Field(default=2, gt=0)  # argon2 checks at once (64 MiB each)
    landing_allow_http: bool = False  # /t/e from http:// origins (development sites)

    @property
    def address(self) -> tuple[str, int]:
        return split_host_port(self.listen)


class StoreSection(Section):
    """Where copies and events are kept: SQLite (one node) or PostgreSQL."""

    url: str  # the loader fills the SQLite default in the data directory


class DataSection(Section):
    """The data directory: spool, outbox, keys, the SQLite store."""

    dir: Path  # the loader resolves it to an absolute path


class CompanySection(Section):
    """Who the company is: its name and its own domains."""

    name: str = ""  # shown on the opt-out page and available to templates as {{ company }}
    # Mail to these (and subdomains) is internal: no tracking, campaign targeting.
    internal_domains: tuple[Domain, ...] = ()
    # Company websites: a click there carries a signed visit id (sr_vid) that
    # the landing page's /t.js reports page views and downloads with.
    landing_domains: tuple[Domain, ...] = ()


class PrivacySection(Section):
    """What tracking may store, for how long, and who may opt out of what."""

    default_mode: PrivacyMode = PrivacyMode.PERSONAL  # for groups that set none
    require_consent: bool = False  # track personally only who consented on the /u/ page
    without_consent: Literal["anonymous", "off"] = "anonymous"  # the others, with consent on
    # Landing visits with `Sec-GPC: 1` or `DNT: 1`: without the copy's identity, or none.
    gpc: Literal["anonymous", "off"] = "anonymous"
    retention_days: int = Field(default=365, gt=0)  # copies older than this are purged
    event_retention_days: int = Field(default=180, gt=0)  # events older: purged, counts kept
    store_ip: Literal["none", "truncated"] = "none"  # truncated: /24 and /48 only
    tracking_enabled: bool = True  # the global switch: False means no tags anywhere
    # A subject containing this (any case) is sent untracked; the tag is removed.
    notrack_tag: str = Field(default="[notrack]", min_length=1)


class MatchRule(Section):
    """One way a sender joins a group; exactly one of the three is set."""

    address: AddressGlob | None = None  # sender address glob, e.g. "sales-*@example.com"
    domain: Domain | None = None  # sender domain (and its subdomains)
    department: str | None = None  # the directory's department column

    @model_validator(mode="after")
    def _exactly_one(self) -> MatchRule:
        given = [k for k in ("address", "domain", "department") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a match rule sets exactly one of address, domain, department")
        return self


class GroupSection(Section):
    """A group of senders sharing a signature, privacy mode and link tracking."""

    name: Slug  # lower-case; campaigns name groups by it
    # personal, domain, anonymous or off; unset: privacy.default_mode
    privacy: PrivacyMode | None = None
    signature_html: FileName  # template under templates/ for new mail, HTML part
    signature_text: FileName  # and for the plain-text part
    reply_html: FileName | None = None  # a shorter one for replies and forwards
    reply_text: FileName | None = None  # its plain-text part
    link_mode: LinkMode = LinkMode.SIGNATURE  # links tracked: none, signature's, all
    excluded_domains: tuple[Domain, ...] = ()  # links to these are never tracked
    embed_images: bool = False  # banners and image() as CID parts (shown with images blocked)
    track_text_links: bool = False  # a tracker URL in text/plain reads like phishing
    # The default language: the unsuffixed templates, the opt-out line and page.
    language: Language = "en"
    # Further languages: templates <name>.<lang>.<ext> beside each (sales.de.html).
    languages: tuple[Language, ...] = ()
    # Personal mode only: mail the sender when a recipient clicks or visits.
    notify_sender: bool = False
    # UTM parameters on tracked links, e.g. { utm_source = "email", utm_medium = "signature" }.
    utm: Utm = Field(default_factory=dict)
    # Who belongs to the group; the first group whose rules fit the sender wins.
    match: tuple[MatchRule, ...] = ()
    # Other templates, a disclaimer, or nothing for some recipients; first fit wins.
    recipient_rules: tuple[RecipientRuleSection, ...] = ()
    # Mail from a shared mailbox of this group sent by a person (Sender:, or the
    # envelope): "mailbox" signs with the mailbox's template, "sender" the person's.
    shared_mailbox_signature: Literal["mailbox", "sender"] = "mailbox"


class WebhookSection(Section):
    """An HTTP endpoint that receives events as signed JSON (X-Sigrelay-Signature)."""

    url: HttpUrl  # the endpoint receiving a POST per event
    # Which events are sent.
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

    enabled: bool = False  # sign every rewritten copy
    # The DNS record is <selector>._domainkey.<domain>.
    selector: str = Field(default="sigrelay", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
    domain: Domain | None = None  # d= of the signature
    key_file: Path | None = None  # PEM private key, config directory relative

    @model_validator(mode="after")
    def _complete_when_enabled(self) -> DkimSection:
        if self.enabled and (self.domain is None or self.key_file is None):
            raise ValueError("dkim.enabled needs domain and key_file")
        return self


class AdminSection(Section):
    """An admin of the dashboard. Only the argon2 hash is kept (`sigrelay admin hash`)."""

    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\s|]+$")]  # login
    password_hash: Annotated[str, Field(pattern=r"^\$argon2(id|i|d)\$")]  # `admin hash`


class ApiTokenSection(Section):
    """A bearer token for /api/v1: its SHA-256 (`sha256:<hex>`, `sigrelay admin token`)
    in the TOML, or the token itself in an environment variable (`token_env`)."""

    name: Annotated[str, Field(min_length=1, max_length=64)]  # shown in the audit log
    token_hash: Annotated[str, Field(pattern=r"^sha256:[0-9a-f]{64}$")] | None = None  # hash
    # Or the variable holding the token itself.
    token_env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = None

    @model_validator(mode="after")
    def _exactly_one_source(self) -> ApiTokenSection:
        if (self.token_hash is None) == (self.token_env is None):
            raise ValueError("an API token sets exactly one of token_hash, token_env")
        return self


Group = GroupSection
Campaign = CampaignSection
Variant = VariantSection
