"""The AUTH backend the configuration names."""

from __future__ import annotations

from pathlib import Path

from config import Config
from proxy.auth import AuthBackend
from proxy.auth.passthrough import PassThrough
from proxy.auth.users import UsersFile


def users_file_path(cfg: Config) -> Path:
    configured = cfg.relay.users_file
    if configured is None:
        return cfg.data.dir / "users"
    return configured if configured.is_absolute() else cfg.config_dir / configured


def open_backend(cfg: Config) -> AuthBackend:
    relay = cfg.relay
    if relay.auth_backend == "ldap":
        from proxy.auth.ldap import LdapBind  # ldap3 only where LDAP is used

        assert relay.ldap_url is not None, "the config schema requires ldap_url"
        return LdapBind(relay.ldap_url, relay.ldap_user_dn, relay.ldap_mail_attribute)
    if relay.auth_backend == "passthrough":
        return PassThrough(
            cfg.upstream_endpoint,
            local_hostname=relay.hostname,
            cache_seconds=relay.auth_cache_seconds,
        )
    return UsersFile(users_file_path(cfg))
