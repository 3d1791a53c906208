"""The [[admins]] and [[api_tokens]] keys, and the dashboard settings built from them."""

from __future__ import annotations

from pathlib import Path

import pytest
from dashboardsite import API_TOKEN, PASSWORD

from config import ConfigError, ConfigErrors, load_config
from config.running import RunningConfig
from tracker.dashboard import settings_from_config
from tracker.dashboard.auth import hash_api_token, hash_password
from tracker.store import Store
from tracker.tokens import Keyring

KEYRING = Keyring({"k1": b"settings-tests-signing-key-bytes"}, current="k1")


def _config_dir(tmp_path: Path, extra: str) -> Path:
    directory = tmp_path / "config"
    (directory / "templates").mkdir(parents=True)
    (directory / "templates" / "sig.html").write_text("<b>{{ name }}</b>")
    (directory / "templates" / "sig.txt").write_text("{{ name }}")
    (directory / "employees.csv").write_text("email,name\n")
    (directory / "sigrelay.toml").write_text(
        '[[groups]]\nname = "default"\nsignature_html = "sig.html"\n'
        'signature_text = "sig.txt"\n' + extra
    )
    return directory


def _load(tmp_path: Path, extra: str, env: dict[str, str] | None = None):
    return load_config(
        _config_dir(tmp_path, extra), {"SIGRELAY_DATA": str(tmp_path / "data"), **(env or {})}
    )


def _admins_and_tokens(password_hash: str, token_hash: str) -> str:
    return (
        f'[[admins]]\nname = "alice"\npassword_hash = "{password_hash}"\n'
        f'[[api_tokens]]\nname = "ci"\ntoken_hash = "{token_hash}"\n'
        '[[api_tokens]]\nname = "grafana"\ntoken_env = "GRAFANA_TOKEN"\n'
    )


async def test_admins_and_api_tokens_from_hash_or_environment(tmp_path: Path):
    extra = _admins_and_tokens(hash_password(PASSWORD), hash_api_token(API_TOKEN))
    cfg = _load(tmp_path, extra, {"SIGRELAY_TRACKER__PUBLIC_URL": "https://t.example.com"})
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    settings = settings_from_config(
        RunningConfig(cfg), store, KEYRING, {"GRAFANA_TOKEN": "from-env"}
    )
    await store.close()
    assert await settings.admins.verify("alice", PASSWORD)
    assert settings.api_tokens.name_of(f"Bearer {API_TOKEN}") == "ci"
    assert settings.api_tokens.name_of("Bearer from-env") == "grafana"
    assert settings.secure_cookies, "https public URL: the session cookie is Secure"


async def test_api_token_whose_variable_is_unset_is_disabled(tmp_path: Path):
    extra = _admins_and_tokens(hash_password(PASSWORD), hash_api_token(API_TOKEN))
    cfg = _load(tmp_path, extra)
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    settings = settings_from_config(RunningConfig(cfg), store, KEYRING, {})
    await store.close()
    assert settings.api_tokens.name_of("Bearer ") is None
    assert not settings.secure_cookies


def test_admin_password_must_be_an_argon2_hash(tmp_path: Path):
    with pytest.raises((ConfigError, ConfigErrors), match="password_hash"):
        _load(tmp_path, '[[admins]]\nname = "alice"\npassword_hash = "secret"\n')


def test_api_token_needs_exactly_one_source(tmp_path: Path):
    with pytest.raises((ConfigError, ConfigErrors), match="exactly one of token_hash, token_env"):
        _load(tmp_path, '[[api_tokens]]\nname = "ci"\n')
