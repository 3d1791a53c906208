"""`sigrelay …`: the admin's command line. Thin: parse arguments, call the packages."""

from __future__ import annotations

import asyncio
import csv
import json
import logging
import re
import sys
from pathlib import Path

import click

from config import ConfigError
from config.annotated import write_config_directory
from config.check import check as check_config
from config.check import is_warning
from proxy.errors import ProxyError
from proxy.startup_checks import startup_problems
from rewriter.errors import RewriteError
from sigrelay import (
    cli_admin,
    cli_classify,
    cli_directory,
    cli_milter,
    cli_preview,
    cli_privacy,
    cli_retention,
    cli_spool,
    cli_user,
    logsetup,
)
from sigrelay.cliconfig import config_option, load_or_fail
from tracker.errors import TrackerError

STATS_KEYS = ("campaign", "variant", "group", "sender", "domain", "recipient", "day")
# Each package's root: their messages say what happened and what to do, as they are.
PACKAGE_ERRORS = (ConfigError, ProxyError, RewriteError, TrackerError)
# SQLite's and PostgreSQL's words for a table that is not there.
MISSING_TABLE = re.compile(r"no such table|relation \S+ does not exist|UndefinedTable")


class _AdminErrors(click.Group):
    """Errors as one line an admin can act on, exit code 1, never a bare
    traceback (the traceback is still logged at DEBUG for a bug report)."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except Exception as exc:
            logging.getLogger("sigrelay.cli").debug("command failed", exc_info=True)
            raise click.ClickException(_explain(exc)) from None


def _explain(exc: Exception) -> str:
    from sqlalchemy.exc import DBAPIError

    if isinstance(exc, PACKAGE_ERRORS):
        return str(exc)
    if isinstance(exc, DBAPIError):
        reason = str(exc.orig).strip() if exc.orig is not None else str(exc)
        if MISSING_TABLE.search(reason):
            return (
                f"the store has no tables yet, or an older schema ({reason}): "
                "run `sigrelay db upgrade` (with the same --config)."
            )
        return (
            f"the store could not be used: {reason}. Check [store] url (or "
            "SIGRELAY_STORE__URL), that the database is reachable, and that the data "
            "directory is writable; run with --log-level DEBUG for details."
        )
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc} ({exc.filename or 'no file'}); check paths and permissions."
    return f"{type(exc).__name__}: {exc} (run with --log-level DEBUG for details)"


@click.group(cls=_AdminErrors)
@click.version_option(package_name="sigrelay", prog_name="sigrelay")
@click.option("--log-level", default=None, help="DEBUG, INFO (default), WARNING, ERROR.")
def main(log_level: str | None) -> None:
    """sigrelay: signatures, banners and privacy-aware tracking for outgoing mail."""
    logsetup.configure(log_level)


def _serve(config_dir: Path | None, relay: bool, tracker: bool) -> None:
    from sigrelay.service import Parts, run

    cfg = load_or_fail(config_dir)
    asyncio.run(run(cfg, Parts(relay=relay, tracker=tracker)))


@main.command()
@config_option
def serve(config_dir: Path | None) -> None:
    """Relay, delivery and tracker in one process."""
    _serve(config_dir, relay=True, tracker=True)


@main.command()
@config_option
def relay(config_dir: Path | None) -> None:
    """Relay and delivery alone."""
    _serve(config_dir, relay=True, tracker=False)


@main.command()
@config_option
def tracker(config_dir: Path | None) -> None:
    """Tracker alone (pixel, banner, click, dashboard)."""
    _serve(config_dir, relay=False, tracker=True)


@main.command()
@config_option
def check(config_dir: Path | None) -> None:
    """Validate the configuration and render every template for every employee."""
    problems = check_config(config_dir, extra=(startup_problems,))
    errors = [p for p in problems if not is_warning(p)]
    for problem in problems:
        click.echo(("warning: " if is_warning(problem) else "error: ") + str(problem), err=True)
    warnings = len(problems) - len(errors)
    if errors:
        click.echo(
            f"{len(errors)} error(s), {warnings} warning(s); the configuration was not accepted.",
            err=True,
        )
        sys.exit(1)
    click.echo(f"configuration OK ({warnings} warning(s))" if warnings else "configuration OK")


@main.command()
@config_option
@click.option("--campaign", default=None, help="Only this campaign.")
@click.option("--by", "by", type=click.Choice(STATS_KEYS), default=None, help="Group rows by.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: totals and rows.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV of the rows (totals last).")
@click.option("--wide", is_flag=True, help="Also landing-page and people/machine columns.")
def stats(
    config_dir: Path | None,
    campaign: str | None,
    by: str | None,
    as_json: bool,
    as_csv: bool,
    wide: bool,
) -> None:
    """Sent, impressions, opens, clicks, click rate, opt-outs (and with --wide the
    landing pages' visits), and what people did beside what machines did."""
    cfg = load_or_fail(config_dir)
    result = asyncio.run(_stats(cfg.store.url, by, campaign))
    if as_json:
        click.echo(json.dumps(result, indent=2, default=str))
    elif as_csv:
        _print_csv(result, by)
    else:
        _print_table(result, by, wide)


async def _stats(url: str, by: str | None, campaign: str | None) -> dict:
    from tracker.store import Store
    from tracker.store.reasons import reason_counts, reason_table

    store = await Store.open(url)
    try:
        result = await store.stats(by=by, campaign=campaign)
        result["reasons"] = reason_table(await reason_counts(store, campaign))
        return result
    finally:
        await store.close()


def _flat(row: dict) -> dict:
    flat = {k: v for k, v in row.items() if not isinstance(v, dict)}
    for split in ("human", "machine"):
        for key, value in row.get(split, {}).items():
            flat[f"{key}_{split}"] = value
    return flat


def _print_csv(result: dict, by: str | None) -> None:
    rows = [_flat(r) for r in result["rows"]]
    totals = _flat(result["totals"]) | ({by: "TOTAL"} if by else {})
    fields = list(dict.fromkeys([*(k for r in rows for k in r), *totals]))
    out = csv.DictWriter(sys.stdout, fieldnames=fields)
    out.writeheader()
    out.writerows(rows)
    out.writerow(totals)


def _print_table(result: dict, by: str | None, wide: bool) -> None:
    from sigrelay.statstable import legend, people_and_machines, render

    click.echo(render(result, by, wide))
    click.echo("\n" + "\n".join(people_and_machines(result["totals"])))
    click.echo("\n" + "\n".join(legend(wide)))


@main.group()
def db() -> None:
    """Database schema."""


@db.command()
@config_option
def upgrade(config_dir: Path | None) -> None:
    """Run the store's migrations up to the newest schema."""
    cfg = load_or_fail(config_dir)
    cfg.data.dir.mkdir(parents=True, exist_ok=True)  # a fresh install: the store's home
    asyncio.run(_upgrade(cfg.store.url))
    click.echo("store schema is up to date")


async def _upgrade(url: str) -> None:
    from tracker.store import Store

    store = await Store.open(url)
    try:
        await store.upgrade()
    finally:
        await store.close()


@main.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Write into a directory that is not empty.")
def init(directory: Path, force: bool) -> None:
    """Create a config directory: the example's templates, banners and directory,
    and a sigrelay.toml listing every key with its default and a comment."""
    if directory.exists() and any(directory.iterdir()) and not force:
        raise click.ClickException(f"{directory} exists and is not empty (--force writes anyway)")
    write_config_directory(directory)
    click.echo(f"created {directory}; edit {directory / 'sigrelay.toml'}, then run:")
    click.echo(f"  sigrelay check --config {directory}")


main.add_command(cli_retention.forget)
main.add_command(cli_retention.purge)
main.add_command(cli_user.user)
main.add_command(cli_classify.classify)
main.add_command(cli_spool.spool)
main.add_command(cli_admin.admin)
main.add_command(cli_directory.directory)
main.add_command(cli_privacy.optout)
main.add_command(cli_privacy.consent)
main.add_command(cli_preview.preview)
main.add_command(cli_milter.milter)
