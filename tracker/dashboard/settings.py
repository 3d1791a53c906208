"""What the dashboard and API need, from the running configuration.

The store, sessions and throttles are made once at start; admins, API tokens
and campaign names come from the running config (config/running.py), made
again after a reload on the first request that needs them. Each request reads
one snapshot at its start (`pages.settings`), so a reload never changes the
rules in the middle of a login.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from config import Config
from config.running import Derived, RunningConfig
from tracker.clientip import ClientAddresses
from tracker.dashboard.auth import (
    Admins,
    ApiTokens,
    LoginLimits,
    LoginThrottle,
    Sessions,
    hash_api_token,
    session_key,
)
from tracker.dashboard.preview_source import PreviewSource
from tracker.store import Store
from tracker.store.throttle import Throttle
from tracker.tokens import Keyring

log = logging.getLogger("sigrelay.tracker.dashboard")


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class DashboardSettings:
    store: Store
    admins: Admins
    api_tokens: ApiTokens
    sessions: Sessions
    login_throttle: LoginThrottle
    # Whose X-Forwarded-For names the client the login throttle counts.
    addresses: ClientAddresses = field(default_factory=ClientAddresses)
    # Marks the session cookie Secure: set when the public URL is https.
    secure_cookies: bool = False
    public_url: str = ""  # where the API is reached (the OpenAPI document's server)
    campaign_names: Mapping[str, str] = field(default_factory=dict)  # id -> display name
    # id -> variant id -> weight, in the configuration's order: the A/B panel.
    campaign_variants: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    # The pseudonym key of `forget`; None disables the privacy action.
    pseudonym_key: bytes | None = None
    clock: Callable[[], datetime] = _utc_now
    # /admin/preview: the relay's preview, handed in by the service; None: no page.
    preview: PreviewSource | None = None
    # The settings of the running config (admins, API tokens, campaign names),
    # read once per request; None: these settings are the only ones (tests).
    live: Derived[DashboardSettings] | None = None

    def for_request(self) -> DashboardSettings:
        """The settings one request uses throughout."""
        return self.live.get() if self.live is not None else self


def api_token_hashes(cfg: Config, env: Mapping[str, str]) -> list[tuple[str, str]]:
    """(name, sha256 hash) of every configured token; a `token_env` that is not set
    is skipped with a warning, so a missing secret disables one token, not the tracker."""
    hashes = []
    for item in cfg.api_tokens:
        if item.token_hash is not None:
            hashes.append((item.name, item.token_hash))
        elif env.get(item.token_env or ""):
            hashes.append((item.name, hash_api_token(env[item.token_env or ""])))
        else:
            log.warning(
                "API token %r: $%s is not set; the token is disabled", item.name, item.token_env
            )
    return hashes


def settings_from_config(
    running: RunningConfig,
    store: Store,
    keyring: Keyring,
    env: Mapping[str, str],
    pseudonym_key: bytes | None = None,
    demo_admin: tuple[str, str] | None = None,
    preview: PreviewSource | None = None,
) -> DashboardSettings:
    """`demo_admin`: (name, password hash) that may log in while the config
    names no admin (the quick start's way in; sigrelay/service.py); `preview`:
    renders copies as the relay would, for /admin/preview."""
    cfg = running.current  # the start-up snapshot: what is made once

    def _admin_hashes(cfg: Config) -> dict[str, str]:
        configured = {a.name: a.password_hash for a in cfg.admins}
        return configured or (dict([demo_admin]) if demo_admin else {})

    tracker = cfg.tracker
    limits = LoginLimits(
        tracker.login_max_failures, tracker.login_block_seconds, tracker.login_failure_window
    )
    start = DashboardSettings(
        store=store,
        admins=Admins(_admin_hashes(cfg), tracker.login_concurrency),
        api_tokens=ApiTokens(api_token_hashes(cfg, env)),
        sessions=Sessions(session_key(keyring.keys[keyring.current])),
        login_throttle=LoginThrottle(Throttle(store), limits),
        addresses=ClientAddresses(tracker.trusted_proxies),
        secure_cookies=cfg.tracker.public_url.startswith("https://"),
        public_url=cfg.tracker.public_url,
        campaign_names=_campaign_names(cfg),
        campaign_variants=_campaign_variants(cfg),
        pseudonym_key=pseudonym_key,
        preview=preview,
    )

    def of_config(new: Config) -> DashboardSettings:
        if new is cfg:
            return start
        return replace(
            start,
            admins=start.admins.with_hashes(_admin_hashes(new)),
            api_tokens=ApiTokens(api_token_hashes(new, env)),
            campaign_names=_campaign_names(new),
            campaign_variants=_campaign_variants(new),
        )

    return replace(start, live=running.derive(of_config))


def _campaign_names(cfg: Config) -> dict[str, str]:
    return {c.id: c.name or c.id for c in cfg.campaigns}


def _campaign_variants(cfg: Config) -> dict[str, dict[str, int]]:
    return {c.id: {v.id: v.weight for v in c.variants} for c in cfg.campaigns}
