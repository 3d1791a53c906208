"""What `sigrelay check` asks the relay itself: can it open the files `serve`
opens at start-up? The same functions `serve` uses (proxy/tls.py,
proxy/dkim.py), so that a passing `check` means `serve` starts."""

from __future__ import annotations

import ssl
from pathlib import Path

from config import Config
from config.errors import ConfigError
from config.loader import CONFIG_FILE
from proxy.dkim import DkimKeyError, load_signer
from proxy.tls import server_context

SERVE_HINT = "`serve` would refuse to start; fix the path (relative to the config directory)"


def startup_problems(cfg: Config) -> list[ConfigError]:
    toml = cfg.config_dir / CONFIG_FILE
    problems: list[ConfigError] = []
    relay = cfg.relay
    if relay.tls_cert is not None and relay.tls_key is not None:
        cert, key = cfg.config_dir / relay.tls_cert, cfg.config_dir / relay.tls_key
        missing = [(field, p) for field, p in (("relay.tls_cert", cert), ("relay.tls_key", key))
                   if not p.is_file()]  # fmt: skip
        problems += [_missing(toml, field, path) for field, path in missing]
        if not missing:
            try:
                server_context(cert, key)
            except (ssl.SSLError, OSError) as exc:
                problems.append(
                    ConfigError(
                        toml,
                        "relay.tls_cert",
                        f"{cert} with {key} is not a usable certificate and key: {exc}",
                        hint="both PEM; the key must belong to the certificate",
                    )
                )
    if cfg.upstream.ca_file is not None:
        ca = cfg.config_dir / cfg.upstream.ca_file
        if not ca.is_file():
            problems.append(_missing(toml, "upstream.ca_file", ca))
        else:
            try:
                ssl.create_default_context(cafile=str(ca))
            except (ssl.SSLError, OSError) as exc:
                reason = f"{ca} is not a PEM CA bundle: {exc}"
                problems.append(ConfigError(toml, "upstream.ca_file", reason))
    try:
        load_signer(cfg)
    except DkimKeyError as exc:
        problems.append(ConfigError(toml, "dkim.key_file", str(exc), hint=SERVE_HINT))
    return problems


def _missing(toml: Path, field: str, path: Path) -> ConfigError:
    return ConfigError(toml, field, f"{path}: file not found", hint=SERVE_HINT)
