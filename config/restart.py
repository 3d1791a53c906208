"""Which changed settings a reload cannot apply: they take effect after a restart.

Everything read per SMTP session, per message, per copy or per HTTP request
follows a reload (config/running.py). What is bound or opened once at start-up
does not: sockets, processes, the store, the upstream client, the DKIM key,
the AUTH backend, and the tracker's start-up parts. They are listed here by
their TOML key, so the reload log and `sigrelay check` can name them.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from config.model import Config

# TOML key (section or section.key) -> what holds it from start-up on.
RESTART_KEYS = MappingProxyType(
    {
        "relay.listen": "the relay's listening socket",
        "relay.listeners": "the relay's listening sockets and their TLS modes",
        "relay.workers": "the relay worker processes",
        "relay.tls_cert": "the relay's certificate paths",
        "relay.tls_key": "the relay's certificate paths",
        "relay.hostname": "the delivery's EHLO name and trace headers",
        "relay.max_age_days": "the delivery's retry policy",
        "relay.auth_backend": "the AUTH backend",
        "relay.users_file": "the AUTH backend",
        "relay.ldap_url": "the AUTH backend",
        "relay.ldap_user_dn": "the AUTH backend",
        "relay.ldap_mail_attribute": "the AUTH backend",
        "relay.auth_cache_seconds": "the AUTH backend",
        "upstream": "the upstream client",
        "tracker.listen": "the tracker's listening socket",
        "tracker.public_url": "the tracker's opt-out pages and dashboard links",
        "tracker.trusted_proxies": "the tracker's client addresses",
        "tracker.metrics_networks": "the /metrics route",
        "tracker.scanner_click_seconds": "the event writer's timing rules",
        "tracker.scanner_burst_seconds": "the event writer's timing rules",
        "tracker.scanner_spray_copies": "the tracker's spray watch",
        "tracker.scanner_spray_seconds": "the tracker's spray watch",
        "tracker.login_max_failures": "the dashboard's login throttle",
        "tracker.login_block_seconds": "the dashboard's login throttle",
        "tracker.login_failure_window": "the dashboard's login throttle",
        "tracker.login_concurrency": "the dashboard's login throttle",
        "store": "the store connection",
        "data": "the data directory",
        "dkim": "the DKIM signing key",
        "webhooks": "the webhook dispatcher",
        "privacy.store_ip": "the tracker's hit reader",
        "topics": "the event writer's interest profiles",
        "privacy.require_consent": "the tracker's opt-out pages",
        "privacy.without_consent": "the tracker's opt-out pages",
        "privacy.retention_days": "the daily purge",
        "privacy.event_retention_days": "the daily purge",
    }
)


def _value(cfg: Config, key: str) -> Any:
    section, _, field = key.partition(".")
    value = getattr(cfg, section)
    return getattr(value, field) if field else value


def restart_needed(old: Config, new: Config) -> list[str]:
    """The keys of RESTART_KEYS whose value differs between `old` and `new`, in
    the order listed (empty: the reload applied everything)."""
    return [key for key in RESTART_KEYS if _value(old, key) != _value(new, key)]


def describe(keys: list[str]) -> str:
    """ "relay.listen (the relay's listening socket), ..." for a log line."""
    return ", ".join(f"{key} ({RESTART_KEYS[key]})" for key in keys)
