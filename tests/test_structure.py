"""The shape of the code, read from its syntax trees (DESIGN.md "Folders",
docs/internals.md): one direction of imports, one error root per package,
no import circles in the command line, modules one can read in one sitting."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("rewriter", "config", "proxy", "tracker", "sigrelay")
MAX_LINES = 450
# Being rewritten (issue 15, deliverable 1: tracker/events/); under the limit once that lands.

SOCKETS_AND_HTTP = {"socket", "ssl", "http", "smtplib", "aiohttp", "aiosmtpd", "aiosmtplib"}
SMTP = {"smtplib", "aiosmtpd", "aiosmtplib"}
# What each package must never import: ours (the direction) and the outside world.
FORBIDDEN = {
    # Pure: no network, no database, no clock, no randomness (docs/internals.md).
    "rewriter": {
        "config",
        "proxy",
        "tracker",
        "sigrelay",
        "asyncio",
        "sqlalchemy",
        "time",
        "random",
        "secrets",
        *SOCKETS_AND_HTTP,
    },  # fmt: skip
    "config": {"proxy", "tracker", "sigrelay", "sqlalchemy", *SOCKETS_AND_HTTP},
    "tracker": {"proxy", "sigrelay", *SMTP},
    "proxy": {"sigrelay"},
}
ERROR_ROOTS = {
    "config": "config.errors.ConfigError",
    "proxy": "proxy.errors.ProxyError",
    "rewriter": "rewriter.errors.RewriteError",
    "tracker": "tracker.errors.TrackerError",
}


def _files(*folders: str) -> Iterator[Path]:
    for folder in folders:
        yield from sorted((ROOT / folder).rglob("*.py"))


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, at any depth of its code (a function's
    import counts as much as one at the top)."""
    found: set[str] = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            # `from tracker.store import optout` imports a module too.
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _source_of(module: str) -> Path | None:
    base = ROOT.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _reached(module: str) -> set[str]:
    """Every module `module` brings in, through our own modules, transitively."""
    seen: set[str] = set()
    waiting = [module]
    while waiting:
        name = waiting.pop()
        if name in seen:
            continue
        seen.add(name)
        path = _source_of(name)
        if path is not None:
            waiting += _imports(path)
    return seen


def _top(module: str) -> str:
    return module.split(".", 1)[0]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_go_one_direction_only(package: str):
    wrong = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in _files(package)
        for module in sorted(_imports(path))
        if _top(module) in FORBIDDEN[package]
    ]
    assert wrong == []


def test_the_relay_uses_only_the_parts_of_the_tracker_that_know_no_http():
    """proxy/ may use the store and the tokens, never the tracker's web side
    (not even through a module that imports it)."""
    wrong = []
    for path in _files("proxy"):
        for module in sorted(_imports(path)):
            if _top(module) != "tracker":
                continue
            http = sorted(m for m in _reached(module) if _top(m) in {"aiohttp", "multidict"})
            if http:
                wrong.append(f"{path.relative_to(ROOT)} imports {module}, which reaches {http}")
    assert wrong == []


def test_no_module_is_longer_than_one_sitting():
    long = {
        str(path.relative_to(ROOT)): lines
        for path in _files(*PACKAGES, "bench", "tests")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_the_command_modules_import_no_other_command_module():
    """cli.py gathers the commands; the commands share sigrelay/cliconfig.py.
    A command module importing another (or cli.py) makes an import circle."""
    commands = {_module_name(path) for path in (ROOT / "sigrelay").glob("cli*.py")}
    commands -= {"sigrelay.cliconfig"}
    wrong = [
        f"{name} imports {module}"
        for name in sorted(commands - {"sigrelay.cli"})
        for module in _imports(_source_of(name))  # type: ignore[arg-type]
        if module in commands
    ]
    assert wrong == []
    calls = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in _files("sigrelay")
        for node in ast.walk(_tree(path))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__"
    ]
    assert calls == []


def _exception_classes(package: str) -> Iterator[tuple[str, str]]:
    """(module, class name) of every class in the package that derives from a
    class named like an exception (…Error, …Exception, …Skipped, Exception)."""
    for path in _files(package):
        for node in ast.walk(_tree(path)):
            if not isinstance(node, ast.ClassDef):
                continue
            bases = {getattr(base, "id", getattr(base, "attr", "")) for base in node.bases}
            names = {node.name, *bases}
            if any(name.endswith(("Error", "Exception", "Skipped")) for name in names) or any(
                name in {"Exception", "ValueError", "LookupError", "OSError"} for name in bases
            ):
                yield _module_name(path), node.name


@pytest.mark.parametrize("package", sorted(ERROR_ROOTS))
def test_every_exception_of_a_package_descends_from_its_root(package: str):
    root_module, _, root_name = ERROR_ROOTS[package].rpartition(".")
    root = getattr(importlib.import_module(root_module), root_name)
    classes = list(_exception_classes(package))
    assert classes, f"no exception classes found in {package}/: the search is broken"
    strays = [
        f"{module}.{name}"
        for module, name in classes
        if not issubclass(getattr(importlib.import_module(module), name), root)
    ]
    assert strays == []
