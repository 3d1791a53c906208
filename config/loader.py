"""load_config: a config directory (+ environment) → a validated `Config`.

Order of precedence, as in DESIGN.md "Contract":
- directory: the argument, else $SIGRELAY_CONFIG, else the bundled config/example/;
- values: `SIGRELAY_<SECTION>__<KEY>` over sigrelay.toml over built-in defaults;
- data dir: [data] dir, else $SIGRELAY_DATA, else ./data. Relative paths are
  taken from the current directory, like ./data; the result is absolute.

Everything wrong is collected and raised together as `ConfigErrors`, each
error naming file, line (where known), field and reason; never a traceback.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import TemplateNotFound, TemplateSyntaxError
from pydantic import BaseModel, ValidationError

from config.consistency import cross_section_problems
from config.directory import Directory, load_directory
from config.errors import ConfigError, ConfigErrors, raise_if_any
from config.languages import localized_name, offered
from config.locate import field_path, key_lines, line_of
from config.model import Config
from config.recipient_rules import DISCLAIMER_KEYS, TEMPLATE_KEYS
from config.schema import GroupSection
from config.schema_directory import employee_file
from config.schema_variants import SignatureVariantSection
from config.templates import SignatureTemplate, compile_template, make_environment

EXAMPLE_DIR = Path(__file__).resolve().parent / "example"
CONFIG_FILE = "sigrelay.toml"
ENV_PREFIX = "SIGRELAY_"


def config_directory(directory: Path | str | None, env: Mapping[str, str]) -> Path:
    chosen = directory or env.get("SIGRELAY_CONFIG") or EXAMPLE_DIR
    return Path(chosen).expanduser().resolve()


def load_config(directory: Path | str | None = None, env: Mapping[str, str] = os.environ) -> Config:
    config_dir = config_directory(directory, env)
    toml_path = config_dir / CONFIG_FILE
    text, raw = _read_toml(toml_path)
    lines = key_lines(text)
    overrides = _apply_env_overrides(raw, env)
    _resolve_paths(raw, env)

    def error_at(location: tuple, reason: str, hint: str | None = None) -> ConfigError:
        source = overrides.get(tuple(location[:2]))
        if source:
            return ConfigError(f"environment variable {source}", field_path(location), reason)
        return ConfigError(
            toml_path, field_path(location), reason, line=line_of(lines, location), hint=hint
        )

    try:
        cfg = Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigErrors(
            error_at(tuple(e["loc"]), *_explain(e)) for e in _root_causes(exc)
        ) from None

    errors = [error_at(*problem) for problem in cross_section_problems(cfg, config_dir / "banners")]
    employees = Directory([])
    employee_csv = employee_file(cfg.directory, config_dir, cfg.data.dir)
    try:
        # Before the first LDAP sync there is no directory yet: the relay runs
        # (its first sync fills it), and `check` says so.
        if cfg.directory.ldap is None or employee_csv.exists():
            employees = load_directory(employee_csv)
    except ConfigErrors as exc:
        errors.extend(exc.errors)
    templates, template_errors = _compile_templates(cfg, config_dir, error_at)
    errors.extend(template_errors)
    password = _upstream_password(cfg, config_dir, env, error_at, errors)
    raise_if_any(errors)

    cfg.attach(
        config_dir=config_dir,
        employees=employees,
        templates=templates,
        upstream_password=password,
    )
    return cfg


def _read_toml(path: Path) -> tuple[str, dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigErrors(
            [ConfigError(path, None, "file not found", hint="sigrelay init DIR creates one")]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigErrors([ConfigError(path, None, f"cannot read: {exc}")]) from None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # Python 3.11 puts the position only into the message: "... (at line 2, column 5)".
        found = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        reason = f"TOML syntax error: {exc}"
        line = int(found.group(1)) if found else None
        raise ConfigErrors([ConfigError(path, None, reason, line=line)]) from None


def _field_model(model: type[BaseModel] | None, key: str) -> type[BaseModel] | None:
    """The model a field holds, looking through tuple[...] and Optional."""
    field = model.model_fields.get(key) if model else None
    annotation = field.annotation if field else None
    while annotation is not None and typing.get_origin(annotation) is not None:
        annotation = next((a for a in typing.get_args(annotation) if a is not Ellipsis), None)
    is_model = isinstance(annotation, type) and issubclass(annotation, BaseModel)
    return annotation if is_model else None  # type: ignore[return-value]


def _env_value(section: str, key: str, value: str) -> Any:
    """Strings stay strings (pydantic coerces "2525" or "true" itself); a
    TOML array literal `[...]` becomes a list, and so does a comma-separated
    value for a list-typed key (SIGRELAY_COMPANY__INTERNAL_DOMAINS=a.com,b.com)."""
    if value.strip().startswith("["):
        try:
            return tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            return value
    model = _field_model(Config, section)
    field = model.model_fields.get(key) if model else None
    if field and typing.get_origin(field.annotation) in (tuple, list):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _apply_env_overrides(raw: dict[str, Any], env: Mapping[str, str]) -> dict[tuple, str]:
    """Returns which (section, key) came from which variable, for error messages."""
    sources: dict[tuple, str] = {}
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        section, _, key = name.removeprefix(ENV_PREFIX).lower().partition("__")
        target = raw.setdefault(section, {})
        if not isinstance(target, dict):
            continue  # e.g. [[groups]]: arrays cannot be overridden; validation reports the TOML
        target[key] = _env_value(section, key, env[name])
        sources[(section, key)] = name
    return sources


def _resolve_paths(raw: dict[str, Any], env: Mapping[str, str]) -> None:
    """Fill the defaults that depend on the data dir, all as absolute paths."""
    data = raw.setdefault("data", {})
    if not isinstance(data, dict):
        return
    data_dir = Path(data.get("dir") or env.get("SIGRELAY_DATA") or "data").expanduser().resolve()
    data["dir"] = str(data_dir)
    store = raw.setdefault("store", {})
    if isinstance(store, dict) and not store.get("url"):
        store["url"] = f"sqlite+aiosqlite:///{data_dir / 'sigrelay.db'}"
    upstream = raw.setdefault("upstream", {})
    if isinstance(upstream, dict):
        url = upstream.setdefault("url", "maildir:outbox")
        if isinstance(url, str) and url.startswith("maildir:"):
            path = url.removeprefix("maildir:")
            if path and not Path(path).expanduser().is_absolute():
                upstream["url"] = f"maildir:{data_dir / path}"


def _known_keys(location: tuple) -> list[str]:
    model: type[BaseModel] | None = Config
    for part in location[:-1]:
        if not isinstance(part, int):
            model = _field_model(model, part)
    return sorted(model.model_fields) if model else []


def _root_causes(exc: ValidationError) -> list[Any]:
    """Drop pydantic's follow-up "tuple too short" for a list whose only item
    failed: the admin needs the item's error, not that the list is now empty."""
    errors = exc.errors(include_url=False)
    return [
        e
        for e in errors
        if e["type"] != "too_short"
        or not any(o is not e and tuple(o["loc"][: len(e["loc"])]) == e["loc"] for o in errors)
    ]


def _explain(error: Mapping[str, Any]) -> tuple[str, str | None]:
    """A pydantic error → (reason, hint) in the admin's words."""
    location = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        known = _known_keys(location)
        near = difflib.get_close_matches(str(location[-1]), known, n=1)
        hint = f"did you mean {near[0]!r}?" if near else f"known keys: {', '.join(known)}"
        return f"unknown key {location[-1]!r}", hint
    if kind == "missing":
        return "required key is missing", None
    reason = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    if not isinstance(value, dict | list):
        reason += f" (got {value!r})"
    return reason, None


def _compile_templates(
    cfg: Config, config_dir: Path, error_at: Any
) -> tuple[dict[str, SignatureTemplate], list[ConfigError]]:
    """The templates the groups, their recipient rules and the signature variants
    name (missing: an error), and their language files (missing: mail falls
    back, `check` reports it)."""
    environment = make_environment(config_dir / "templates")
    templates: dict[str, SignatureTemplate] = {}
    errors: list[ConfigError] = []

    def compile_one(name: str, location: tuple | None) -> None:
        if name in templates:
            return
        try:
            templates[name] = compile_template(environment, name)
        except TemplateNotFound:
            if location is not None:
                errors.append(
                    error_at(
                        location,
                        f"template {name!r} not found in {config_dir / 'templates'}",
                        "create the file or fix the name",
                    )
                )
        except TemplateSyntaxError as exc:
            path = config_dir / "templates" / name
            reason = f"template syntax: {exc.message}"
            errors.append(ConfigError(path, None, reason, line=exc.lineno))

    for index, group in enumerate(cfg.groups):
        named = [(name, ("groups", index, key)) for key, name in _template_keys(group)]
        for number, rule in enumerate(group.recipient_rules):
            location = ("groups", index, "recipient_rules", number)
            named += [(name, (*location, key)) for key, name in _template_keys(rule)]
        for name, location in named:
            compile_one(name, location)
        # The group's scheduled signature variants speak its languages too.
        localizable = [name for name, _ in named]
        localizable += [name for v in _variants_of(cfg, group) for _, name in _template_keys(v)]
        for language in offered(group):
            for name in localizable:
                compile_one(localized_name(name, language), None)
    for index, variant in enumerate(cfg.signature_variants):
        for key, name in _template_keys(variant):
            compile_one(name, ("signature_variants", index, key))
    return templates, errors


def _template_keys(section: Any) -> list[tuple[str, str]]:
    keys = (*TEMPLATE_KEYS, *DISCLAIMER_KEYS)
    return [(key, getattr(section, key)) for key in keys if getattr(section, key, None)]


def template_names_of(cfg: Config) -> dict[str, tuple[str, ...]]:
    """Group name -> every template file the group, its rules and its
    scheduled signature variants name."""
    return {
        group.name: tuple(
            dict.fromkeys(
                name
                for section in (group, *group.recipient_rules, *_variants_of(cfg, group))
                for _, name in _template_keys(section)
            )
        )
        for group in cfg.groups
    }


def _variants_of(cfg: Config, group: GroupSection) -> tuple[SignatureVariantSection, ...]:
    return tuple(v for v in cfg.signature_variants if group.name in v.groups)


def _upstream_password(
    cfg: Config, config_dir: Path, env: Mapping[str, str], error_at: Any, errors: list
) -> str | None:
    upstream = cfg.upstream
    if upstream.password_env:
        if upstream.password_env not in env:
            errors.append(
                error_at(
                    ("upstream", "password_env"),
                    f"environment variable {upstream.password_env} is not set",
                )
            )
        return env.get(upstream.password_env)
    if upstream.password_file:
        path = config_dir / upstream.password_file.expanduser()
        try:
            # One trailing newline is what editors and `echo` add; it is not part of the secret.
            return path.read_text(encoding="utf-8").removesuffix("\n")
        except OSError as exc:
            reason = f"cannot read {path}: {exc.strerror}"
            errors.append(error_at(("upstream", "password_file"), reason))
    return None
