"""`sigrelay optout …` and `sigrelay consent …`: the recipients' choices, by admin.

Both lists hold the keyed recipient hash (tracker/recipients.py), never the
address: `list` shows hashes, and for addresses given on the command line
whether they are in the list (computed here, not looked up by address).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from sigrelay.cliconfig import config_option, load_or_fail
from sigrelay.progress import tracked


def _run(config_dir: Path | None, action: Callable[[Any, bytes], Awaitable[Any]]) -> Any:
    from tracker.pseudonym import load_pseudonym_key
    from tracker.store import Store

    cfg = load_or_fail(config_dir)
    key = load_pseudonym_key(cfg.data.dir, os.environ)

    async def run() -> Any:
        store = await Store.open(cfg.store.url)
        try:
            return await action(store, key)
        finally:
            await store.close()

    return asyncio.run(run())


def _now() -> datetime:
    return datetime.now(UTC)


def _echo(as_json: bool, data: dict, text: str) -> None:
    click.echo(json.dumps(data, default=str) if as_json else text)


json_option = click.option("--json", "as_json", is_flag=True, help="One JSON object.")


# --- opt-out ------------------------------------------------------------------


@click.group()
def optout() -> None:
    """Recipients who opted out of tracking (keyed hashes, never addresses)."""


@optout.command("add")
@config_option
@click.argument("address")
@click.option(
    "--choice",
    type=click.Choice(["untracked", "anonymous"]),  # OptOutChoice (imported when used)
    default="untracked",
    help="untracked: not tracked at all (default); anonymous: counted only anonymously.",
)
@json_option
def optout_add(config_dir: Path | None, address: str, choice: str, as_json: bool) -> None:
    """Opt ADDRESS out, as if they had used their opt-out link."""
    from tracker.recipients import recipient_key
    from tracker.store.optout import opt_out

    async def action(store, key: bytes) -> str:
        hashed = recipient_key(address, key)
        await opt_out(store, hashed, choice, _now())
        return hashed

    hashed = _run(config_dir, action)
    _echo(as_json, {"recipient_key": hashed, "choice": choice}, f"opted out ({choice}): {hashed}")


@optout.command("remove")
@config_option
@click.argument("address")
@json_option
def optout_remove(config_dir: Path | None, address: str, as_json: bool) -> None:
    """Opt ADDRESS back in."""
    from tracker.recipients import recipient_key
    from tracker.store.optout import opt_in

    removed = _run(config_dir, lambda store, key: opt_in(store, recipient_key(address, key)))
    _echo(as_json, {"removed": removed}, "opted back in" if removed else "was not opted out")


@optout.command("list")
@config_option
@click.argument("addresses", nargs=-1)
@json_option
def optout_list(config_dir: Path | None, addresses: tuple[str, ...], as_json: bool) -> None:
    """Every opt-out (hash, choice, when); for each ADDRESS given, its choice or "in"."""
    from tracker.recipients import recipient_key
    from tracker.store.optout import list_optouts

    async def action(store, key: bytes) -> dict:
        rows = await list_optouts(store)
        by_key = {row.recipient_key: row.choice for row in rows}
        return {
            "optouts": [
                {"recipient_key": r.recipient_key, "choice": r.choice, "at": r.at} for r in rows
            ],
            "addresses": {a: by_key.get(recipient_key(a, key), "in") for a in addresses},
        }

    result = _run(config_dir, action)
    lines = [
        f"{r['recipient_key']}  {r['choice']:9}  {r['at']:%Y-%m-%d %H:%M}"
        for r in result["optouts"]
    ]
    lines += [f"{address}: {state}" for address, state in result["addresses"].items()]
    _echo(as_json, result, "\n".join(lines) or "nobody opted out")


# --- consent ------------------------------------------------------------------


@click.group()
def consent() -> None:
    """Recipients who consented to personal tracking (privacy.require_consent)."""


@consent.command("add")
@config_option
@click.argument("address")
@json_option
def consent_add(config_dir: Path | None, address: str, as_json: bool) -> None:
    """Record ADDRESS's consent."""
    from tracker.recipients import recipient_key
    from tracker.store.optout import add_consent

    async def action(store, key: bytes) -> str:
        hashed = recipient_key(address, key)
        await add_consent(store, hashed, _now())
        return hashed

    hashed = _run(config_dir, action)
    _echo(as_json, {"recipient_key": hashed}, f"consent recorded: {hashed}")


@consent.command("remove")
@config_option
@click.argument("address")
@json_option
def consent_remove(config_dir: Path | None, address: str, as_json: bool) -> None:
    """Withdraw ADDRESS's consent. With privacy.require_consent, what a recipient
    without consent gets holds at once, also for the copies sent before."""
    from tracker.recipients import recipient_key
    from tracker.store.optout import OptOutChoice, remove_consent

    privacy = load_or_fail(config_dir).privacy
    then = None
    if privacy.require_consent:
        then = OptOutChoice.capped_to(privacy.without_consent)
    removed = _run(
        config_dir,
        lambda store, key: remove_consent(store, recipient_key(address, key), then=then),
    )
    _echo(as_json, {"removed": removed}, "consent withdrawn" if removed else "had no consent")


@consent.command("list")
@config_option
@click.argument("addresses", nargs=-1)
@json_option
def consent_list(config_dir: Path | None, addresses: tuple[str, ...], as_json: bool) -> None:
    """Every consent (hash, when); for each ADDRESS given, whether it consented."""
    from tracker.recipients import recipient_key
    from tracker.store.optout import list_consents

    async def action(store, key: bytes) -> dict:
        rows = await list_consents(store)
        keys = {row.recipient_key for row in rows}
        return {
            "consents": [{"recipient_key": r.recipient_key, "at": r.at} for r in rows],
            "addresses": {a: recipient_key(a, key) in keys for a in addresses},
        }

    result = _run(config_dir, action)
    lines = [f"{r['recipient_key']}  {r['at']:%Y-%m-%d %H:%M}" for r in result["consents"]]
    lines += [f"{a}: {'yes' if yes else 'no'}" for a, yes in result["addresses"].items()]
    _echo(as_json, result, "\n".join(lines) or "no consents recorded")


@consent.command("import")
@config_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
def consent_import(config_dir: Path | None, file: Path, as_json: bool) -> None:
    """Record the consent of every address in FILE.csv (column "email" or
    "address", else the first column; a header row is optional)."""
    from tracker.recipients import recipient_key
    from tracker.store.optout import add_consent

    addresses = _addresses_in(file)

    async def action(store, key: bytes) -> int:
        now = _now()
        for address in tracked(addresses, "recording consent"):
            await add_consent(store, recipient_key(address, key), now)
        return len(addresses)

    count = _run(config_dir, action)
    _echo(as_json, {"imported": count}, f"consent recorded for {count} address(es)")


RECEIPT_FIELDS = ("recipient_key", "at", "action", "how", "text_version")
PROFILE_FIELDS = ("recipient_key", "topic", "clicks", "last_at")


def _csv(fields: tuple[str, ...], rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


@consent.command("export")
@config_option
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Else stdout.")
def consent_export(config_dir: Path | None, fmt: str, out: Path | None) -> None:
    """The consent receipts (GDPR Art. 7(1)): when, how and which text version,
    per recipient key; JSON also carries the words of every text version. The
    interest profiles built on those consents follow (JSON: "interests"; CSV:
    a second table after an empty line, if there are any)."""
    from tracker.consent import VERSIONS
    from tracker.store.interests import list_profiles
    from tracker.store.optout import list_consent_receipts

    async def read(store: Any, _key: bytes) -> tuple[list, list]:
        return await list_consent_receipts(store), await list_profiles(store)

    receipts, profiles = _run(config_dir, read)
    rows = [{name: getattr(r, name) for name in RECEIPT_FIELDS} for r in receipts]
    interests = [{name: getattr(p, name) for name in PROFILE_FIELDS} for p in profiles]
    for row in rows:
        row["at"] = row["at"].isoformat()
    for row in interests:
        row["last_at"] = row["last_at"].isoformat()
    if fmt == "json":
        used = {row["text_version"] for row in rows}
        texts = {version: text for version, text in VERSIONS.items() if version in used}
        exported = {"receipts": rows, "texts": texts, "interests": interests}
        text = json.dumps(exported, indent=2, ensure_ascii=False) + "\n"
    else:
        text = _csv(RECEIPT_FIELDS, rows)
        if interests:
            text += "\n" + _csv(PROFILE_FIELDS, interests)
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"{len(rows)} receipt(s) written to {out}", err=True)


def _addresses_in(file: Path) -> list[str]:
    with file.open(newline="", encoding="utf-8-sig") as handle:
        rows = [row for row in csv.reader(handle) if row and any(cell.strip() for cell in row)]
    if not rows:
        return []
    header = [cell.strip().lower() for cell in rows[0]]
    column = next((header.index(n) for n in ("email", "address", "e-mail") if n in header), None)
    body = rows[1:] if column is not None or "@" not in rows[0][0] else rows
    column = column or 0
    found = [row[column].strip() for row in body if len(row) > column and "@" in row[column]]
    if len(found) != len(body):
        bad = len(body) - len(found)
        raise click.ClickException(
            f"{file}: {bad} row(s) without an address in column {column + 1}"
        )
    return list(dict.fromkeys(a.lower() for a in found))
