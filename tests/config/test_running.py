"""The running config: one holder, swapped whole; values derived from it follow."""

from __future__ import annotations

from pathlib import Path

from config import load_config
from config.restart import restart_needed
from config.running import RunningConfig


def _two(example_dir: Path, env: dict[str, str], **changes: str):
    return load_config(example_dir, env), load_config(example_dir, env | changes)


def test_swap_returns_the_old_config_and_tells_subscribers(example_dir, env):
    first, second = _two(example_dir, env)
    running = RunningConfig(first)
    told = []
    running.subscribe(lambda old, new: told.append((old, new)))
    assert running.swap(second) is first
    assert running.current is second and told == [(first, second)]


def test_a_derived_value_is_built_once_per_snapshot(example_dir, env):
    first, second = _two(example_dir, env)
    running = RunningConfig(first)
    built = []
    derived = running.derive(lambda cfg: built.append(cfg) or len(built))
    assert (derived.get(), derived.get()) == (1, 1)
    running.swap(second)
    assert (derived.get(), derived.get()) == (2, 2)
    assert built == [first, second]


def test_a_failing_subscriber_does_not_stop_the_swap_or_the_others(example_dir, env):
    first, second = _two(example_dir, env)
    running = RunningConfig(first)
    told = []
    running.subscribe(lambda old, new: 1 / 0)
    running.subscribe(lambda old, new: told.append(new))
    running.swap(second)
    assert running.current is second and told == [second]


def test_nothing_needs_a_restart_when_only_live_settings_change(example_dir, env, edit):
    old = load_config(example_dir, env)
    edit(example_dir / "sigrelay.toml", "priority = 10", "priority = 11")
    new = load_config(
        example_dir,
        env
        | {"SIGRELAY_RELAY__TRUSTED_NETWORKS": "10.0.0.0/8", "SIGRELAY_RELAY__MAX_RECIPIENTS": "7"},
    )
    assert new.campaigns[0].priority == 11
    assert restart_needed(old, new) == []


def test_listen_addresses_store_and_upstream_need_a_restart(example_dir, env):
    old, new = _two(
        example_dir,
        env,
        SIGRELAY_RELAY__LISTEN="127.0.0.1:2626",
        SIGRELAY_TRACKER__LISTEN="127.0.0.1:8181",
        SIGRELAY_UPSTREAM__URL="smtp://127.0.0.1:2527",
        SIGRELAY_STORE__URL="sqlite+aiosqlite:////tmp/other.db",
        SIGRELAY_RELAY__WORKERS="2",
    )
    assert restart_needed(old, new) == [
        "relay.listen",
        "relay.workers",
        "upstream",
        "tracker.listen",
        "store",
    ]
    assert restart_needed(new, new) == []
