"""`check` names the changes a reload cannot apply, against what the running
service recorded in the data directory (config/applied.py)."""

from __future__ import annotations

from config import check, load_config
from config.applied import APPLIED_FILE, applied_config, record_applied
from config.check import is_warning


def test_check_names_changes_that_need_a_restart(example_dir, env, edit):
    running = load_config(example_dir, env)
    record_applied(running)
    recorded = applied_config(running.data.dir)
    assert recorded is not None and recorded.model_dump() == running.model_dump()
    assert check(example_dir, env) == []
    edit(example_dir / "sigrelay.toml", 'listen = "127.0.0.1:2525"', 'listen = "0.0.0.0:2525"')
    edit(example_dir / "sigrelay.toml", 'name = "Example GmbH"', 'name = "Example AG"')
    problems = check(example_dir, env)
    assert [(p.field, is_warning(p)) for p in problems] == [("relay.listen", True)]
    assert "restart" in problems[0].message


def test_without_a_record_or_with_an_unreadable_one_check_says_nothing_of_restarts(
    example_dir, env
):
    cfg = load_config(example_dir, env)
    cfg.data.dir.mkdir(parents=True, exist_ok=True)
    (cfg.data.dir / APPLIED_FILE).write_text("{not json")
    assert applied_config(cfg.data.dir) is None
    assert check(example_dir, env) == []
