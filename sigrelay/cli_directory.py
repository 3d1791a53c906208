"""`sigrelay directory sync [--dry-run]`: read employees from LDAP / AD now."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from sigrelay.cliconfig import config_option, load_or_fail
from sigrelay.directory_sync import DirectorySyncError, sync_directory
from sigrelay.progress import working


@click.group()
def directory() -> None:
    """The employee directory."""


@directory.command()
@config_option
@click.option("--dry-run", is_flag=True, help="Show the changes, write nothing.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document.")
def sync(config_dir: Path | None, dry_run: bool, as_json: bool) -> None:
    """Read employees from [directory.ldap] and show what changed."""
    cfg = load_or_fail(config_dir)
    try:
        with working(f"reading {cfg.directory.ldap.url if cfg.directory.ldap else 'LDAP'}"):
            report = sync_directory(cfg, os.environ, dry_run=dry_run)
    except DirectorySyncError as exc:
        click.echo(f"directory sync failed: {exc}", err=True)
        sys.exit(1)
    changes = report.changes
    if as_json:
        document = {
            "employees": report.employees,
            "written": report.written,
            "added": changes.added,
            "removed": changes.removed,
            "changed": changes.changed,
            "skipped": [{"entry": dn, "reason": why} for dn, why in report.skipped],
        }
        click.echo(json.dumps(document, indent=2))
        return
    for line in changes.lines():
        click.echo(line)
    for dn, why in report.skipped:
        click.echo(f"  left out {dn}: {why}")
    verb = "would change" if dry_run else "changed" if report.written else "read"
    summary = "no changes" if changes.empty else f"{len(changes.lines())} employee(s) {verb}"
    click.echo(f"{report.employees} employees; {summary}" + (" (dry run)" if dry_run else ""))
