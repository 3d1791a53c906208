"""What every `sigrelay …` command that reads the configuration shares: the
`--config DIR` option and one way to load it, errors as lines an admin can act on.

A module of its own so that the command modules (cli_*.py) and the group
that gathers them (cli.py) all import it, and none imports another.
"""

from __future__ import annotations

from pathlib import Path

import click

from config import Config, ConfigError, load_config

config_option = click.option(
    "--config",
    "config_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Config directory (default: $SIGRELAY_CONFIG, else the bundled example).",
)


def load_or_fail(config_dir: Path | None) -> Config:
    """The configuration, or a ClickException (exit code 1) listing every error."""
    try:
        return load_config(config_dir)
    except ConfigError as exc:  # ConfigErrors too: it is one
        raise click.ClickException(f"invalid configuration:\n{exc}") from None
