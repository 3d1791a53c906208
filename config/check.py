"""`sigrelay check`: everything load_config validates, plus what only shows
when you try it: every template rendered for every employee (and once for a
sender missing from the directory), template fields no column provides,
campaigns that shadow each other, links that break, banner files, and the
TLS/CA/DKIM files `serve` opens at start-up (config/lint.py).

Every problem is reported in one pass: a TOML error does not hide a broken
directory CSV or template, which are read on their own when the TOML fails."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from jinja2 import TemplateSyntaxError

from config.applied import applied_config
from config.directory import load_directory
from config.errors import ConfigError, ConfigErrors
from config.languages import missing_language_templates, offered
from config.lint import (
    ConfigWarning,
    campaign_overlaps,
    image_problems,
    link_problems,
    send_as_problems,
    template_field_problems,
)
from config.loader import CONFIG_FILE, config_directory, load_config, template_names_of
from config.model import Config
from config.restart import RESTART_KEYS, restart_needed
from config.rules import Sender
from config.templates import make_environment

__all__ = ["ConfigWarning", "check", "is_warning"]


def is_warning(problem: ConfigError) -> bool:
    return isinstance(problem, ConfigWarning)


def check(
    directory: Path | str | None = None,
    env: Mapping[str, str] = os.environ,
    extra: Sequence[Callable[[Config], list[ConfigError]]] = (),
) -> list[ConfigError]:
    """Errors first, then warnings; `check` passes when there is no error.
    `extra`: what the layers above ask of a loaded config (the command line
    passes the relay's start-up checks: proxy/startup_checks.py)."""
    try:
        cfg = load_config(directory, env)
    except ConfigErrors as exc:
        return _with_independent_files(list(exc.errors), config_directory(directory, env))
    problems = (
        _unsynced_directory(cfg)
        + _language_problems(cfg)
        + _render_problems(cfg)
        + template_field_problems(cfg)
        + image_problems(cfg)
        + [problem for more in extra for problem in more(cfg)]
        + link_problems(cfg)
        + campaign_overlaps(cfg)
        + send_as_problems(cfg)
        + _restart_needed(cfg)
    )
    return sorted(problems, key=is_warning)


def _with_independent_files(errors: list[ConfigError], config_dir: Path) -> list[ConfigError]:
    """The directory CSV and the templates do not depend on the TOML being
    valid: read them anyway so that one run shows every problem."""
    known = {error.message for error in errors}
    found: list[ConfigError] = []
    csv_path = config_dir / _csv_name(config_dir / CONFIG_FILE)
    if csv_path.is_file():
        try:
            load_directory(csv_path)
        except ConfigErrors as exc:
            found.extend(exc.errors)
    templates_dir = config_dir / "templates"
    if templates_dir.is_dir():
        environment = make_environment(templates_dir)
        for path in sorted(templates_dir.iterdir()):
            try:
                environment.parse(path.read_text(encoding="utf-8"))
            except TemplateSyntaxError as exc:
                found.append(
                    ConfigError(path, None, f"template syntax: {exc.message}", line=exc.lineno)
                )
            except (OSError, UnicodeDecodeError) as exc:
                found.append(ConfigError(path, None, f"cannot read: {exc}"))
    return errors + [problem for problem in found if problem.message not in known]


def _csv_name(toml_path: Path) -> str:
    try:
        raw = tomllib.loads(toml_path.read_text(encoding="utf-8"))
        name = raw.get("directory", {}).get("csv")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, AttributeError):
        name = None
    return name if isinstance(name, str) and name else "employees.csv"


def _restart_needed(cfg: Config) -> list[ConfigError]:
    """Changes against what the running service applied that a reload cannot."""
    running = applied_config(cfg.data.dir)
    if running is None:
        return []
    return [
        ConfigWarning(
            cfg.config_dir / CONFIG_FILE,
            key,
            f"changed since the running service loaded it; {RESTART_KEYS[key]} "
            "keeps the old value until a restart",
            hint="systemctl restart sigrelay (a reload applies the rest)",
        )
        for key in restart_needed(running, cfg)
    ]


def _unsynced_directory(cfg: Config) -> list[ConfigError]:
    if cfg.directory.ldap is None or cfg.directory_file.exists():
        return []
    reason = "no employees read from LDAP yet; until then every sender gets the empty fields"
    hint = "run `sigrelay directory sync --dry-run`, then `sigrelay directory sync`"
    return [ConfigError(cfg.directory_file, "directory.ldap", reason, hint=hint)]


def _language_problems(cfg: Config) -> list[ConfigError]:
    known = cfg.compiled_template_names
    return missing_language_templates(cfg.groups, template_names_of(cfg), known, cfg.templates_dir)


def _render_problems(cfg: Config) -> list[ConfigError]:
    senders = [cfg.sender(employee.email) for employee in cfg.employees]
    domain = cfg.company.internal_domains[0] if cfg.company.internal_domains else "example.invalid"
    senders += [Sender(f"not-in-directory@{domain}", None, group) for group in cfg.groups]
    errors: list[ConfigError] = []
    for sender in senders:
        # Each scheduled variant of the sender's group too, at its start.
        times = [None, *(v.start for v in cfg.signature_variants if sender.group.name in v.groups)]
        try:
            # Every language and recipient rule of the group: each may name other files.
            for language in offered(sender.group):
                for rule in (None, *sender.group.recipient_rules):
                    for now in times:
                        cfg.signature_for(sender, language, rule, now=now)
                        cfg.reply_signature_for(sender, language, rule, now=now)
        except Exception as exc:  # noqa: BLE001 - any template failure is a finding, not a crash
            group = sender.group
            errors.append(
                ConfigError(
                    cfg.templates_dir,
                    f"groups.{group.name} templates",
                    f"rendering for {sender.address} failed: {type(exc).__name__}: {exc}",
                    hint="run `sigrelay preview` for this sender to see the template output",
                )
            )
    return errors
