"""`sigrelay classify import FILE`: load a published network list for the tracker."""

from __future__ import annotations

from pathlib import Path

import click

from sigrelay.cliconfig import config_option, load_or_fail

LIST_VERDICTS = ("prefetch", "scanner", "proxy")


@click.group()
def classify() -> None:
    """Rules that tell machines from people."""


@classify.command("import")
@config_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--verdict",
    type=click.Choice(LIST_VERDICTS),
    default="prefetch",
    show_default=True,
    help="What a request from these networks is (Apple's Private Relay list: prefetch).",
)
@click.option(
    "--name",
    default="apple-private-relay",
    show_default=True,
    help="The list's name; importing again under the same name replaces it.",
)
def import_list(config_dir: Path | None, file: Path, verdict: str, name: str) -> None:
    """Load networks from FILE (Apple's egress-ip-ranges.csv: prefix,country,region,city,
    or one CIDR per line) into the data directory. Trackers read it when they start."""
    from tracker.networks import parse_egress_csv, write_list

    if not name.replace("-", "").replace("_", "").isalnum():
        raise click.BadParameter("use letters, digits, - and _", param_hint="--name")
    cfg = load_or_fail(config_dir)
    try:
        with open(file, encoding="utf-8") as handle:
            networks = list(parse_egress_csv(handle))
    except ValueError as exc:
        raise click.ClickException(f"{file}: {exc}") from None
    path = write_list(cfg.data.dir, verdict, name, networks)
    click.echo(f"imported {len(networks)} network(s) as {verdict} into {path}")
    click.echo("restart the trackers (sigrelay serve / sigrelay tracker) to use them")
