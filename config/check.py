"""`sigrelay check`: everything load_config validates, plus what only shows
when you try it: every template rendered for every employee (and once for a
sender missing from the directory), every banner file a real image."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from config.errors import ConfigError, ConfigErrors
from config.loader import load_config
from config.model import Config
from config.rules import Sender

# The first bytes of the image formats every mail client shows.
IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"\xff\xd8\xff")


def check(
    directory: Path | str | None = None, env: Mapping[str, str] = os.environ
) -> list[ConfigError]:
    try:
        cfg = load_config(directory, env)
    except ConfigErrors as exc:
        return list(exc.errors)
    return _render_problems(cfg) + _banner_problems(cfg)


def _render_problems(cfg: Config) -> list[ConfigError]:
    senders = [cfg.sender(employee.email) for employee in cfg.employees]
    domain = cfg.company.internal_domains[0] if cfg.company.internal_domains else "example.invalid"
    senders += [Sender(f"not-in-directory@{domain}", None, group) for group in cfg.groups]
    errors: list[ConfigError] = []
    for sender in senders:
        try:
            cfg.signature_for(sender)
            cfg.reply_signature_for(sender)
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


def _banner_problems(cfg: Config) -> list[ConfigError]:
    errors: list[ConfigError] = []
    for index, campaign in enumerate(cfg.campaigns):
        for position, variant in enumerate(campaign.variants):
            path = cfg.banners_dir / variant.image
            with path.open("rb") as stream:
                head = stream.read(8)
            if not head.startswith(IMAGE_SIGNATURES):
                errors.append(
                    ConfigError(
                        path,
                        f"campaigns[{index}].variants[{position}].image",
                        "not a PNG, GIF or JPEG image",
                    )
                )
    return errors
