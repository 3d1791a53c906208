"""Loading: where the config and data come from, defaults, environment overrides."""

from __future__ import annotations

import ipaddress
from importlib import resources
from pathlib import Path

import pytest
from pydantic import ValidationError

from config import EXAMPLE_DIR, PrivacyMode, load_config


def test_bundled_example_is_used_without_directory_or_env(env):
    cfg = load_config(env=env)
    assert cfg.config_dir == EXAMPLE_DIR
    assert cfg.company.name == "Example GmbH"


def test_sigrelay_config_env_names_the_directory(example_dir, env, edit):
    edit(example_dir / "sigrelay.toml", 'name = "Example GmbH"', 'name = "Copy AG"')
    cfg = load_config(env=env | {"SIGRELAY_CONFIG": str(example_dir)})
    assert cfg.company.name == "Copy AG"


def test_directory_argument_beats_sigrelay_config(example_dir, env):
    cfg = load_config(EXAMPLE_DIR, env | {"SIGRELAY_CONFIG": str(example_dir / "nowhere")})
    assert cfg.config_dir == EXAMPLE_DIR


def test_example_config_matches_the_contract(example, tmp_path):
    assert example.relay.listen == "127.0.0.1:2525"
    assert example.relay.address == ("127.0.0.1", 2525)
    assert ipaddress.ip_address("127.0.0.1") in example.relay.trusted_networks[0]
    assert example.tracker.listen == "127.0.0.1:8080"
    assert example.tracker.public_url == "http://127.0.0.1:8080"
    assert example.company.internal_domains == ("example.com",)
    assert {g.name: g.privacy for g in example.groups} == {
        "sales": PrivacyMode.PERSONAL,
        "staff": PrivacyMode.ANONYMOUS,
    }
    assert [c.id for c in example.campaigns] == ["spring-launch"]


def test_example_files_ship_with_the_package():
    example = resources.files("config") / "example"
    for name in ("sigrelay.toml", "employees.csv", "templates/sales.html", "banners/spring-a.png"):
        assert (example / name).is_file(), name


def test_data_dir_comes_from_sigrelay_data_and_fills_store_and_outbox(example, tmp_path):
    data = tmp_path / "data"
    assert example.data.dir == data
    assert example.store.url == f"sqlite+aiosqlite:///{data / 'sigrelay.db'}"
    endpoint = example.upstream_endpoint
    assert (endpoint.scheme, endpoint.path) == ("maildir", data / "outbox")


def test_data_dir_defaults_to_data_in_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config(EXAMPLE_DIR, env={})
    assert cfg.data.dir == tmp_path / "data"


def test_data_dir_in_toml_beats_sigrelay_data(make_config, tmp_path):
    directory = make_config(f'[data]\ndir = "{tmp_path / "mine"}"\n' + _one_group())
    cfg = load_config(directory, {"SIGRELAY_DATA": str(tmp_path / "env")})
    assert cfg.data.dir == tmp_path / "mine"


def test_env_overrides_listen_public_url_upstream_and_store(example_dir, env):
    cfg = load_config(
        example_dir,
        env
        | {
            "SIGRELAY_RELAY__LISTEN": "127.0.0.1:2600",
            "SIGRELAY_TRACKER__PUBLIC_URL": "https://t.example.net/",
            "SIGRELAY_UPSTREAM__URL": "smtp://127.0.0.1:2526?tls=required",
            "SIGRELAY_STORE__URL": "postgresql+asyncpg://postgres@127.0.0.1/test",
        },
    )
    assert cfg.relay.address == ("127.0.0.1", 2600)
    assert cfg.tracker.public_url == "https://t.example.net"
    endpoint = cfg.upstream_endpoint
    assert (endpoint.scheme, endpoint.host, endpoint.port, endpoint.tls_required) == (
        "smtp",
        "127.0.0.1",
        2526,
        True,
    )
    assert cfg.store.url == "postgresql+asyncpg://postgres@127.0.0.1/test"


def test_env_override_values_are_coerced_to_the_key_type(example_dir, env):
    cfg = load_config(
        example_dir,
        env
        | {
            "SIGRELAY_RELAY__MAX_RECIPIENTS": "7",
            "SIGRELAY_PRIVACY__TRACKING_ENABLED": "false",
            "SIGRELAY_COMPANY__INTERNAL_DOMAINS": "example.com, Example.ORG",
            "SIGRELAY_RELAY__TRUSTED_NETWORKS": '["10.0.0.0/8"]',
        },
    )
    assert cfg.relay.max_recipients == 7
    assert cfg.privacy.tracking_enabled is False
    assert cfg.company.internal_domains == ("example.com", "example.org")
    assert cfg.relay.trusted_networks == (ipaddress.ip_network("10.0.0.0/8"),)


def test_env_variables_without_section_separator_are_not_overrides(example, env):
    cfg = load_config(EXAMPLE_DIR, env | {"SIGRELAY_TOKEN_KEYS": "k1:c2VjcmV0"})
    assert cfg.model_dump() == example.model_dump()


def test_group_without_privacy_gets_the_default_mode(make_config, env):
    directory = make_config('[privacy]\ndefault_mode = "domain"\n' + _one_group())
    assert load_config(directory, env).groups[0].privacy is PrivacyMode.DOMAIN


def test_upstream_password_comes_from_the_named_env_variable(make_config, env):
    directory = make_config(
        '[upstream]\nurl = "smtps://127.0.0.1:4650"\nusername = "relay"\n'
        'password_env = "UPSTREAM_PW"\n' + _one_group()
    )
    cfg = load_config(directory, env | {"UPSTREAM_PW": "s3cret"})
    assert cfg.upstream_password == "s3cret"
    assert "s3cret" not in repr(cfg)


def test_upstream_password_file_is_read_without_trailing_newline(make_config, env):
    directory = make_config('[upstream]\npassword_file = "pw"\n' + _one_group())
    (directory / "pw").write_text("from-file\n")
    assert load_config(directory, env).upstream_password == "from-file"


def test_relative_maildir_path_lands_under_the_data_dir(make_config, env):
    directory = make_config('[upstream]\nurl = "maildir:mail/out"\n' + _one_group())
    endpoint = load_config(directory, env).upstream_endpoint
    assert endpoint.path == Path(env["SIGRELAY_DATA"]) / "mail" / "out"


def _one_group() -> str:
    return '[[groups]]\nname = "default"\nsignature_html = "sig.html"\nsignature_text = "sig.txt"\n'


def test_loaded_config_is_immutable(example):
    with pytest.raises(ValidationError):
        example.relay.listen = "0.0.0.0:25"  # type: ignore[misc]
