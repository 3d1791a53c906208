"""What `sigrelay check` finds beyond what load_config rejects: the mistakes
that load fine and then break mail, or stop `serve` at start-up.

Each finding is a ConfigError (file, line, field, reason, hint); the ones that
do not stop mail but deserve a look are `ConfigWarning`s. Everything here is a
pure look at files and the loaded Config: no sockets, no rendering of mail.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable, Iterator
from itertools import combinations
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import TemplateError, meta, nodes

from config.directory import KNOWN_COLUMNS
from config.errors import ConfigError
from config.images import image_type, valid_name
from config.model import Config
from config.schema import CampaignSection, RecipientScope
from config.templates import make_environment

# Jinja's own globals, usable in any template without a directory column.
JINJA_GLOBALS = frozenset({"range", "dict", "lipsum", "cycler", "joiner", "namespace", "loop"})
# What Config.template_fields adds to every employee's columns.
CONTEXT_FIELDS = frozenset({"address", "company", "group", "image", "photo_url", "photo"})
# Above this a banner or image makes every copy heavy (Gmail clips mail at 102 KB
# of HTML, and mobile clients load images over metered links).
IMAGE_WARN_BYTES = 200 * 1024
IMAGE_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
    b"\xff\xd8\xff": "JPEG",
}


class ConfigWarning(ConfigError):
    """A finding that does not stop `check` from passing: mail still flows."""


def template_field_problems(cfg: Config) -> list[ConfigError]:
    """A `{{ titel }}` that no directory column provides renders empty and the
    empty-line rule then drops that line for everyone: an error, with the line."""
    columns = set(KNOWN_COLUMNS) | CONTEXT_FIELDS
    for employee in cfg.employees:
        columns.update(employee.extra)
    errors: list[ConfigError] = []
    for name, filename, tree in _parsed_templates(cfg):
        unknown = meta.find_undeclared_variables(tree) - columns - JINJA_GLOBALS
        reported: set[str] = set()
        for node in tree.find_all(nodes.Name):
            if node.name in unknown and node.name not in reported:
                reported.add(node.name)
                errors.append(
                    ConfigError(
                        filename or cfg.templates_dir / name,
                        node.name,
                        "no directory column provides this field, so the line is dropped "
                        "for every employee",
                        line=node.lineno,
                        hint=_near(node.name, columns),
                    )
                )
    return errors


def _parsed_templates(cfg: Config) -> Iterator[tuple[str, str | None, nodes.Template]]:
    """(name, file name, syntax tree) of every template the groups use."""
    environment = make_environment(cfg.templates_dir)
    for name in _template_names(cfg):
        try:
            source, filename, _ = environment.loader.get_source(environment, name)  # type: ignore[union-attr]
            yield name, filename, environment.parse(source)
        except (TemplateError, OSError):
            continue  # load_config already reported a missing or unparsable template


def _template_names(cfg: Config) -> list[str]:
    names: list[str] = []
    for owner in (*cfg.groups, *cfg.signature_variants):
        for key in ("signature_html", "signature_text", "reply_html", "reply_text"):
            name = getattr(owner, key)
            if name and name not in names:
                names.append(name)
    return names


def _near(word: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, sorted(known), n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"add a '{word}' column to the directory, or use one of: {', '.join(sorted(known))}"


def send_as_problems(cfg: Config) -> list[ConfigError]:
    """A `send_as` naming no shared mailbox grants nothing (config/mailboxes.py):
    the person's mail from that address is refused, so say so before they try."""
    warnings: list[ConfigError] = []
    for employee in cfg.employees:
        for address in re.split(r"[;,\s]+", employee.extra.get("send_as", "").strip()):
            if address and not cfg.mailboxes.is_shared(address):
                warnings.append(
                    ConfigWarning(
                        cfg.directory_file,
                        f"send_as of {employee.email}",
                        f"{address} is not a shared mailbox: sending as it stays refused",
                        hint="list it in [[shared_mailboxes]] or give its directory entry members",
                    )
                )
    return warnings


def campaign_overlaps(cfg: Config) -> list[ConfigError]:
    """Two campaigns that can win for the same copy at the same time with equal
    priority: the one listed first always wins, the other never shows."""
    toml = cfg.config_dir / "sigrelay.toml"
    warnings: list[ConfigError] = []
    indexed = list(enumerate(cfg.campaigns))
    for (_first, a), (j, b) in combinations(indexed, 2):
        shared = sorted(set(a.groups) & set(b.groups))
        if not shared or not _audiences_meet(a, b):
            continue
        if a.fallback and b.fallback:
            reason = (
                f"fallback campaigns {a.id!r} and {b.id!r} both serve group(s) "
                f"{', '.join(shared)}: only {a.id!r} (listed first) ever runs"
            )
        elif not a.fallback and not b.fallback and a.priority == b.priority and _times_meet(a, b):
            reason = (
                f"campaigns {a.id!r} and {b.id!r} overlap in time for group(s) "
                f"{', '.join(shared)} with equal priority {a.priority}: "
                f"{a.id!r} (listed first) always wins"
            )
        else:
            continue
        warnings.append(
            ConfigWarning(
                toml,
                f"campaigns[{j}]",
                reason,
                hint=f"give {b.id!r} a different priority, or make their dates not overlap",
            )
        )
    return warnings


def _times_meet(a: CampaignSection, b: CampaignSection) -> bool:
    assert a.start and a.end and b.start and b.end  # scheduled campaigns, schema checked
    return a.start < b.end and b.start < a.end


def _audiences_meet(a: CampaignSection, b: CampaignSection) -> bool:
    if a.follow_up_of != b.follow_up_of:
        return False
    scopes = {a.recipients, b.recipients}
    if scopes == {RecipientScope.INTERNAL, RecipientScope.EXTERNAL}:
        return False
    only_domains = not a.recipient_addresses and not b.recipient_addresses
    if only_domains and a.recipient_domains and b.recipient_domains:
        return bool(_domains_meet(a.recipient_domains, b.recipient_domains))
    return True


def _domains_meet(first: Iterable[str], second: Iterable[str]) -> list[str]:
    return [
        x for x in first for y in second if x == y or x.endswith("." + y) or y.endswith("." + x)
    ]


def link_problems(cfg: Config) -> list[ConfigError]:
    """Banner links as the admin wrote them (pydantic would quietly encode a
    space), and every link the signatures render, for every employee."""
    toml = cfg.config_dir / "sigrelay.toml"
    problems: list[ConfigError] = []
    raw = _raw_toml(toml)
    for index, campaign in enumerate(raw.get("campaigns") or []):
        for position, variant in enumerate(_dicts(campaign.get("variants"))):
            link = variant.get("link")
            reason = bad_link(link) if isinstance(link, str) else None
            if reason:
                field = f"campaigns[{index}].variants[{position}].link"
                problems.append(ConfigError(toml, field, f"{reason}: {link!r}"))
    seen: set[tuple[str, str]] = set()
    for employee in cfg.employees:
        sender = cfg.sender(employee.email)
        try:
            html = cfg.signature_for(sender).html
        except Exception:  # noqa: BLE001 - check.py reports render failures itself
            continue
        for href in _hrefs(html):
            reason = bad_link(href)
            if reason and (employee.email, href) not in seen:
                seen.add((employee.email, href))
                problems.append(
                    ConfigWarning(
                        cfg.templates_dir / sender.group.signature_html,
                        f"link for {employee.email}",
                        f"{reason}: {href!r}",
                        hint="fix the directory value or the template's href",
                    )
                )
    return problems


def bad_link(link: str) -> str | None:
    """Why a link would break in a mail client, or None."""
    text = link.strip()
    if text != link or any(c.isspace() for c in text):
        return "link contains whitespace"
    scheme = urlsplit(text).scheme.lower()
    if scheme in ("mailto", "tel", "cid") or text.startswith(("#", "{{")):
        return None
    if scheme not in ("http", "https"):
        return "link is not an http(s) URL"
    try:
        host = urlsplit(text).hostname
    except ValueError:
        return "link is not a valid URL"
    return None if host else "link has no host"


def _hrefs(html: str) -> Iterator[str]:
    for match in re.finditer(r"""href\s*=\s*(?:"([^"]*)"|'([^']*)')""", html, re.IGNORECASE):
        yield match.group(1) if match.group(1) is not None else match.group(2)


def _raw_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}


def _dicts(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def image_problems(cfg: Config) -> list[ConfigError]:
    """Every banner a real PNG, GIF or JPEG, every signature image a PNG, GIF,
    JPEG or WebP (config/images.py); a warning above 200 KB."""
    problems: list[ConfigError] = []
    for index, campaign in enumerate(cfg.campaigns):
        for position, variant in enumerate(campaign.variants):
            field = f"campaigns[{index}].variants[{position}].image"
            problems += _image_file_problems(cfg.banners_dir / variant.image, field, banner=True)
    if cfg.images_dir.is_dir():
        for path in sorted(cfg.images_dir.iterdir()):
            if path.is_file() and not path.name.startswith("."):
                problems += _image_file_problems(path, f"images/{path.name}", banner=False)
    return problems + _missing_images(cfg)


def _image_file_problems(path: Path, field: str, *, banner: bool) -> list[ConfigError]:
    try:
        with path.open("rb") as stream:
            head = stream.read(12)
        size = path.stat().st_size
    except OSError as exc:
        return [ConfigError(path, field, f"cannot read: {exc.strerror}")]
    if banner and not any(head.startswith(magic) for magic in IMAGE_SIGNATURES):
        return [ConfigError(path, field, "not a PNG, GIF or JPEG image")]
    if not banner and not (valid_name(path.name) and image_type(head)):
        reason = "not served: signature images are PNG, GIF, JPEG or WebP files with a plain name"
        return [ConfigWarning(path, field, reason, hint="SVG is not shown by most mail programs")]
    if size > IMAGE_WARN_BYTES:
        what = "banners" if banner else "images"
        hint = f"keep {what} under 200 KB (export at the shown size, compress)"
        return [
            ConfigWarning(
                path, field, f"{size // 1024} KB: every copy carries or loads it", hint=hint
            )
        ]
    return []


def _missing_images(cfg: Config) -> list[ConfigError]:
    """`image("logo.png")` naming no servable image renders empty: its line is
    dropped for everyone. Only literal names can be checked here."""
    folders = cfg.image_folders
    errors: list[ConfigError] = []
    for name, filename, tree in _parsed_templates(cfg):
        for call in tree.find_all(nodes.Call):
            if not (isinstance(call.node, nodes.Name) and call.node.name == "image"):
                continue
            argument = call.args[0] if call.args else None
            if isinstance(argument, nodes.Const) and folders.find(argument.value) is None:
                errors.append(
                    ConfigError(
                        filename or cfg.templates_dir / name,
                        f"image({argument.value!r})",
                        f"no such image in {cfg.images_dir} (PNG, GIF, JPEG or WebP); "
                        "the line is dropped for every sender",
                        line=call.lineno,
                        hint="put the file into images/ or fix the name",
                    )
                )
    return errors
