"""`sigrelay init`: the written sigrelay.toml names every key of the schema with
its default, loads into the same configuration as the example, and uncommenting
its defaults changes nothing (the generator reads the schema, so it cannot drift)."""

from __future__ import annotations

import re
import tomllib

from click.testing import CliRunner
from pydantic import BaseModel

from config import EXAMPLE_DIR, load_config
from config.annotated import _model_of
from config.check import check
from config.model import Config
from sigrelay.cli import main


def _keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for name, field in model.model_fields.items():
        sub, _ = _model_of(field)
        if sub is not None:
            keys |= _keys(sub, f"{prefix}{name}.")
        else:
            keys.add(prefix + name)
    return keys


def _written_keys(text: str) -> set[str]:
    """Dotted key names as the file lists them, active or commented out."""
    table, keys = "", set()
    for line in text.splitlines():
        bare = line.removeprefix("# ").strip()
        header = re.fullmatch(r"\[\[?([a-z_.]+)\]\]?", bare)
        if header:
            table = header.group(1)
        elif found := re.match(r"([a-z_]+) = ", bare):
            keys.add(f"{table}.{found.group(1)}")
    return keys


def test_init_writes_every_key_and_loads_like_the_example(tmp_path, env):
    target = tmp_path / "cfg"
    result = CliRunner().invoke(main, ["init", str(target)])
    assert result.exit_code == 0, result.output
    text = (target / "sigrelay.toml").read_text(encoding="utf-8")
    tomllib.loads(text)
    assert _written_keys(text) == _keys(Config)
    assert load_config(target, env).model_dump() == load_config(EXAMPLE_DIR, env).model_dump()
    assert check(target, env) == []


def test_uncommenting_every_default_changes_nothing(tmp_path, env):
    target = tmp_path / "cfg"
    CliRunner().invoke(main, ["init", str(target)])
    path = target / "sigrelay.toml"
    text = path.read_text(encoding="utf-8")
    # Defaults inside active tables only (a table whose header is commented out
    # stays out), and only those with a value (<unset>/<required> have none).
    table_active, lines = False, []
    for line in text.splitlines():
        if line.startswith(("[", "# [")):
            table_active = line.startswith("[")
        value = re.fullmatch(r"# ([a-z_]+ = )(.*)", line)
        if value and table_active and "<" not in value.group(2):
            line = value.group(1) + value.group(2)
        lines.append(line)
    uncommented = "\n".join(lines)
    assert uncommented.count("\n") == text.count("\n") - 1
    assert uncommented != text.rstrip("\n")
    path.write_text(uncommented, encoding="utf-8")
    loaded = load_config(target, env).model_dump()
    assert loaded == load_config(EXAMPLE_DIR, env).model_dump()


def test_init_refuses_a_directory_with_files_unless_forced(tmp_path):
    target = tmp_path / "cfg"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    refused = CliRunner().invoke(main, ["init", str(target)])
    assert refused.exit_code != 0 and "--force" in refused.output
    forced = CliRunner().invoke(main, ["init", "--force", str(target)])
    assert forced.exit_code == 0, forced.output
    assert (target / "sigrelay.toml").is_file() and (target / "notes.txt").read_text() == "mine"


def test_every_key_has_its_own_comment_from_the_schema(tmp_path):
    target = tmp_path / "cfg"
    CliRunner().invoke(main, ["init", str(target)])
    lines = (target / "sigrelay.toml").read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if re.match(r"(# )?[a-z_]+ = ", line):
            above = lines[number - 1]
            assert above.startswith("# ") and not re.match(r"# [a-z_]+ = ", above), (
                f"line {number + 1} {line!r} has no comment of its own"
            )
