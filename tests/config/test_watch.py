"""Hot reload: a valid change is applied whole; an invalid one is rejected and logged."""

from __future__ import annotations

import logging
from pathlib import Path

from config import Config, load_config
from config.running import RunningConfig
from config.watch import ConfigWatcher


def _watcher(example_dir: Path, env: dict[str, str]) -> tuple[ConfigWatcher, list[Config]]:
    applied: list[Config] = []
    running = RunningConfig(load_config(example_dir, env))
    running.subscribe(lambda old, new: applied.append(new))
    return ConfigWatcher(running, env=env), applied


def test_unchanged_directory_applies_nothing(example_dir, env):
    watcher, applied = _watcher(example_dir, env)
    assert watcher.check() is False
    assert applied == []


def test_valid_change_is_applied_as_a_new_config(example_dir, env, edit):
    watcher, applied = _watcher(example_dir, env)
    edit(example_dir / "sigrelay.toml", "priority = 10", "priority = 11")
    assert watcher.check() is True
    assert [c.campaigns[0].priority for c in applied] == [11]
    assert watcher.current is applied[0]


def test_changed_template_is_picked_up(example_dir, env):
    watcher, applied = _watcher(example_dir, env)
    template = example_dir / "templates" / "staff.txt"
    template.write_text(template.read_text() + "\nNew line {{ name }}\n")
    assert watcher.check() is True
    sender = applied[0].sender("ben.mueller@example.com")
    assert "New line" in applied[0].signature_for(sender).text


def test_invalid_change_keeps_the_running_config_and_logs_where(example_dir, env, edit, caplog):
    watcher, applied = _watcher(example_dir, env)
    running = watcher.current
    edit(example_dir / "sigrelay.toml", 'privacy = "anonymous"', 'privacy = "sometimes"')
    with caplog.at_level(logging.ERROR, logger="sigrelay.config.watch"):
        assert watcher.check() is False
    assert applied == [] and watcher.current is running
    assert [e.field for e in watcher.last_errors] == ["groups[1].privacy"]
    assert "groups[1].privacy" in caplog.text and "running config stays" in caplog.text


def test_fixing_an_invalid_change_applies_the_fix(example_dir, env, edit):
    watcher, applied = _watcher(example_dir, env)
    toml = example_dir / "sigrelay.toml"
    edit(toml, "priority = 10", "priority = ten")
    assert watcher.check() is False
    edit(toml, "priority = ten", "priority = 12")
    assert watcher.check() is True
    assert applied[0].campaigns[0].priority == 12


def test_a_reload_names_the_changes_that_need_a_restart(example_dir, env, caplog):
    watcher, applied = _watcher(example_dir, env)
    watcher.env = env | {"SIGRELAY_RELAY__LISTEN": "127.0.0.1:2626"}
    (example_dir / "sigrelay.toml").write_text((example_dir / "sigrelay.toml").read_text() + "\n")
    with caplog.at_level(logging.INFO, logger="sigrelay.config.watch"):
        assert watcher.check() is True
    assert applied[0].relay.listen == "127.0.0.1:2626"
    assert "reload applied; these changes need a restart: relay.listen (" in caplog.text
