"""`sigrelay preview`: each copy of a message as the relay would send it, written to files.

The copies come from proxy/preview.py (the relay's own planner and rewriter,
with tokens no tracker accepts); this command only reads the message, writes
`<name>-<n>.eml` and `<name>-<n>.html` per copy, the screenshots where
Chromium is installed, and says what it wrote.
"""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import click

from config import Config
from config.running import RunningConfig
from proxy.preview import Preview, Previewer
from proxy.preview_samples import KINDS, sample_message
from sigrelay.cliconfig import config_option, load_or_fail
from sigrelay.screenshots import take_screenshots
from tracker.tokens import KEYS_ENV, KEYS_FILE_ENV, KEYS_FILE_NAME, Keyring, load_keyring


def live_keyring(cfg: Config) -> Keyring | None:
    """The tracker's keys where they are configured, else None; never makes one
    (a preview must not create the key file of a data directory)."""
    env = os.environ
    if env.get(KEYS_ENV) or env.get(KEYS_FILE_ENV) or (cfg.data.dir / KEYS_FILE_NAME).exists():
        return load_keyring(cfg.data.dir, env)
    return None


async def _previews(
    cfg: Config, mail_from: str, rcpts: tuple[str, ...], message: Path | None
) -> list[Preview]:
    previewer = Previewer(RunningConfig(cfg), live_keyring(cfg))
    if message is not None:
        return [await previewer.preview(mail_from, rcpts, message.read_bytes(), message.stem)]
    now = datetime.now(UTC)
    return [
        await previewer.preview(mail_from, rcpts, sample_message(k, mail_from, rcpts, now), k)
        for k in KINDS
    ]


def _write(previews: list[Preview], out: Path) -> dict[tuple[str, int], dict[str, Path]]:
    """(preview name, copy number) -> {"eml": path, "html": path (if any)}."""
    out.mkdir(parents=True, exist_ok=True)
    written: dict[tuple[str, int], dict[str, Path]] = {}
    for preview in previews:
        for copy in preview.copies:
            files = written[(preview.name, copy.number)] = {}
            stem = out / f"{preview.name}-{copy.number}"
            files["eml"] = stem.with_suffix(".eml")
            files["eml"].write_bytes(copy.message)
            html = copy.html
            if html is not None:
                files["html"] = stem.with_suffix(".html")
                files["html"].write_text(html, encoding="utf-8")
    return written


@click.command()
@click.option("--from", "mail_from", required=True, help="The sender's address.")
@click.option("--to", "rcpts", multiple=True, required=True, help="A recipient (repeatable).")
@click.argument(
    "message", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("preview"),
    show_default=True,
    help="Directory the files are written to.",
)
@click.option(
    "--screenshots/--no-screenshots", default=True, help="PNGs at 1280 and 390 px (Chromium)."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON document: files and facts.")
@config_option
def preview(
    mail_from: str,
    rcpts: tuple[str, ...],
    message: Path | None,
    out: Path,
    screenshots: bool,
    as_json: bool,
    config_dir: Path | None,
) -> None:
    """Write each copy of MESSAGE.eml as the relay would send it (.eml, its HTML as
    .html, screenshots where Chromium is installed). Without MESSAGE, a sample
    new mail and a sample reply. Nothing is sent, recorded or counted."""
    cfg = load_or_fail(config_dir)
    previews = asyncio.run(_previews(cfg, mail_from, rcpts, message))
    written = _write(previews, out)
    skipped = "no screenshots: --no-screenshots"
    if screenshots:
        shots = take_screenshots([f["html"] for f in written.values() if "html" in f])
        skipped = shots.skipped
        for files in written.values():
            files.update(shots.files.get(files.get("html", Path()), {}))
    if as_json:
        click.echo(json.dumps(_document(previews, written, out, skipped), indent=2))
        return
    for preview_ in previews:
        for copy in preview_.copies:
            facts = (
                f"{', '.join(copy.recipients)}; {copy.privacy}"
                f"{'' if copy.tracked else ' (untracked)'}; {copy.outcome}"
            )
            for kind, path in written[(preview_.name, copy.number)].items():
                click.echo(f"wrote {path}" + (f"  [{facts}]" if kind == "eml" else ""))
    for preview_ in previews:
        click.echo(preview_.summary())
    for note in [*_notes(previews), *([skipped] if skipped else [])]:
        click.echo(f"note: {note}")


def _notes(previews: list[Preview]) -> list[str]:
    return list(dict.fromkeys(note for preview_ in previews for note in preview_.notes()))


def _document(
    previews: list[Preview],
    written: dict[tuple[str, int], dict[str, Path]],
    out: Path,
    skipped: str,
) -> dict[str, object]:
    listed = []
    for preview_ in previews:
        facts = preview_.facts()
        for copy in facts["copies"]:  # type: ignore[attr-defined]
            files = written[(preview_.name, copy["copy"])]
            copy["files"] = {kind: str(path) for kind, path in files.items()}
        listed.append(facts)
    return {"out": str(out), "previews": listed, "notes": _notes(previews), "screenshots": skipped}
