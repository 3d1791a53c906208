"""Fixtures for config tests: throw-away config directories in tmp_path."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from config import EXAMPLE_DIR, Config, load_config

ONE_GROUP = """
[[groups]]
name = "default"
signature_html = "sig.html"
signature_text = "sig.txt"
"""

EMPLOYEES = """email,name,title,phone,department
anna.schmidt@example.com,Anna Schmidt,Key Account Manager,+49 30 1,Sales
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A clean environment whose data dir is inside tmp_path."""
    return {"SIGRELAY_DATA": str(tmp_path / "data")}


@pytest.fixture
def example_dir(tmp_path: Path) -> Path:
    """A private copy of the bundled example, safe to edit."""
    target = tmp_path / "example"
    shutil.copytree(EXAMPLE_DIR, target)
    return target


@pytest.fixture
def edit() -> Callable[[Path, str, str], None]:
    """edit(file, old, new): replace text that must be there."""

    def replace(path: Path, old: str, new: str) -> None:
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {path}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    return replace


MakeConfig = Callable[..., Path]


@pytest.fixture
def make_config(tmp_path: Path) -> MakeConfig:
    """make_config(toml, templates={name: text}, employees=csv_text) -> config dir.

    Defaults: one default group using sig.html / sig.txt that print the name."""
    counter = iter(range(1000))

    def make(
        toml: str = ONE_GROUP,
        *,
        templates: dict[str, str] | None = None,
        employees: str = EMPLOYEES,
        banners: dict[str, bytes] | None = None,
    ) -> Path:
        directory = tmp_path / f"config{next(counter)}"
        (directory / "templates").mkdir(parents=True)
        (directory / "banners").mkdir()
        (directory / "sigrelay.toml").write_text(toml, encoding="utf-8")
        (directory / "employees.csv").write_text(employees, encoding="utf-8")
        all_templates = {"sig.html": "<b>{{ name }}</b>", "sig.txt": "{{ name }}"}
        for name, text in (all_templates | (templates or {})).items():
            (directory / "templates" / name).write_text(text, encoding="utf-8")
        for name, data in (banners or {}).items():
            (directory / "banners" / name).write_bytes(data)
        return directory

    return make


@pytest.fixture
def example(env: dict[str, str]) -> Config:
    return load_config(EXAMPLE_DIR, env)
