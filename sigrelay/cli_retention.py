"""`sigrelay forget ADDR` and `sigrelay purge`: the GDPR side of the store."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import asdict
from pathlib import Path

import click

from sigrelay.cliconfig import config_option, load_or_fail
from sigrelay.progress import working


@click.command()
@config_option
@click.argument("address")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: subject and rows.")
def forget(config_dir: Path | None, address: str, as_json: bool) -> None:
    """Pseudonymise one recipient in every table (irreversible); audit-logged."""
    from tracker.pseudonym import load_pseudonym_key
    from tracker.store.retention import forget as forget_address

    cfg = load_or_fail(config_dir)
    key = load_pseudonym_key(cfg.data.dir, os.environ)
    with working(f"forgetting {address} in every table"):
        result = asyncio.run(_with_store(cfg.store.url, forget_address, address, key))
    if as_json:
        click.echo(json.dumps(asdict(result)))
    else:
        click.echo(f"forgotten: {result.rows} row(s) now name {result.subject} (audit-logged)")


@click.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object with the counts.")
def purge(config_dir: Path | None, as_json: bool) -> None:
    """Apply the retention policy now (also runs daily inside serve/tracker)."""
    from tracker.pseudonym import load_pseudonym_key
    from tracker.store.retention import purge as apply_retention

    cfg = load_or_fail(config_dir)
    key = load_pseudonym_key(cfg.data.dir, os.environ)
    privacy = cfg.privacy
    with working("applying the retention policy"):
        result = asyncio.run(
            _with_store(
                cfg.store.url,
                apply_retention,
                key,
                privacy.retention_days,
                privacy.event_retention_days,
            )
        )
    if as_json:
        click.echo(json.dumps(asdict(result)))
        return
    click.echo(
        f"pseudonymised {result.copies_pseudonymised} copy row(s) older than "
        f"{privacy.retention_days} days; deleted {result.events_deleted} event(s) older "
        f"than {privacy.event_retention_days} days (audit-logged)"
    )


async def _with_store(url: str, action, *args):
    from tracker.store import Store

    store = await Store.open(url)
    try:
        return await action(store, *args)
    finally:
        await store.close()
