"""PNG screenshots of preview HTML files in Chromium, at desktop and phone width.

Playwright (a dev dependency) drives Chromium when it is importable: full-page
shots. Without it, Chromium's own `--headless --screenshot` takes a shot of a
fixed window. Without Chromium there are no screenshots, and the admin is told
why. Scripts are off either way: a preview shows mail, and mail programs run
no script either.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

WIDTHS = {"desktop": 1280, "phone": 390}
FALLBACK_HEIGHT = 1400  # the window of a `--screenshot` (no full-page shots there)
LOAD_TIMEOUT_MS = 10_000  # an image host that does not answer must not hold the preview
SHOT_TIMEOUT_S = 60
NO_SCRIPT = '<meta http-equiv="Content-Security-Policy" content="script-src \'none\'">'


@dataclass
class Shots:
    """The screenshots taken: html file -> {"desktop": png, "phone": png}."""

    files: dict[Path, dict[str, Path]] = field(default_factory=dict)
    skipped: str = ""  # why there are none (empty: taken)


def find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _sandbox_args() -> list[str]:
    # Chromium refuses its sandbox as root (containers); a normal user keeps it.
    return ["--no-sandbox"] if os.geteuid() == 0 else []


def _png_of(html: Path, name: str) -> Path:
    return html.with_name(f"{html.stem}-{name}.png")


def take_screenshots(html_files: Sequence[Path]) -> Shots:
    chromium = find_chromium()
    if chromium is None:
        return Shots(skipped="no screenshots: Chromium is not installed (apt install chromium)")
    if not html_files:
        return Shots()
    try:
        from playwright.sync_api import TimeoutError as LoadTimeout
        from playwright.sync_api import sync_playwright
    except ImportError:
        return _with_command(chromium, html_files)
    shots = Shots()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=["--disable-gpu", *_sandbox_args()]
        )
        try:
            for name, width in WIDTHS.items():
                context = browser.new_context(
                    viewport={"width": width, "height": 800}, java_script_enabled=False
                )
                page = context.new_page()
                for html in html_files:
                    # An image that never came: shoot what is there.
                    with contextlib.suppress(LoadTimeout):
                        page.goto(html.resolve().as_uri(), timeout=LOAD_TIMEOUT_MS)
                    png = _png_of(html, name)
                    page.screenshot(path=str(png), full_page=True)
                    shots.files.setdefault(html, {})[name] = png
                context.close()
        finally:
            browser.close()
    return shots


def _with_command(chromium: str, html_files: Sequence[Path]) -> Shots:
    shots = Shots()
    with tempfile.TemporaryDirectory(prefix="sigrelay-shots-") as scratch:
        for html in html_files:
            # `--blink-settings=scriptEnabled=false` makes `--screenshot` write
            # nothing (Chromium 12x-15x): a policy in front of the copy stops scripts.
            shown = Path(scratch) / html.name
            shown.write_text(NO_SCRIPT + html.read_text("utf-8"), "utf-8")
            for name, width in WIDTHS.items():
                png = _png_of(html, name)
                command = [
                    chromium,
                    "--headless",
                    "--disable-gpu",
                    *_sandbox_args(),
                    "--hide-scrollbars",
                    f"--window-size={width},{FALLBACK_HEIGHT}",
                    f"--screenshot={png.resolve()}",
                    shown.as_uri(),
                ]
                try:
                    subprocess.run(command, capture_output=True, timeout=SHOT_TIMEOUT_S, check=True)
                except (OSError, subprocess.SubprocessError) as exc:
                    return Shots(shots.files, f"no screenshots: {chromium} failed ({exc})")
                if not png.is_file():
                    return Shots(shots.files, f"no screenshots: {chromium} wrote none")
                shots.files.setdefault(html, {})[name] = png
    return shots
