"""What the dashboard and API need, built once from the configuration at start."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from config import Config
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
    # The pseudonym key of `forget`; None disables the privacy action.
    pseudonym_key: bytes | None = None
    clock: Callable[[], datetime] = _utc_now


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
    cfg: Config,
    store: Store,
    keyring: Keyring,
    env: Mapping[str, str],
    pseudonym_key: bytes | None = None,
) -> DashboardSettings:
    tracker = cfg.tracker
    limits = LoginLimits(
        tracker.login_max_failures, tracker.login_block_seconds, tracker.login_failure_window
    )
    return DashboardSettings(
        store=store,
        admins=Admins({a.name: a.password_hash for a in cfg.admins}, tracker.login_concurrency),
        api_tokens=ApiTokens(api_token_hashes(cfg, env)),
        sessions=Sessions(session_key(keyring.keys[keyring.current])),
        login_throttle=LoginThrottle(Throttle(store), limits),
        addresses=ClientAddresses(tracker.trusted_proxies),
        secure_cookies=cfg.tracker.public_url.startswith("https://"),
        public_url=cfg.tracker.public_url,
        campaign_names={c.id: c.name or c.id for c in cfg.campaigns},
        pseudonym_key=pseudonym_key,
    )
