"""Screenshots of each copy's HTML at desktop (1280 px) and phone (390 px) width,
in Debian's Chromium: through Playwright, and through `chromium --screenshot`."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

from click.testing import CliRunner

from peers import require_binary
from sigrelay.cli import main
from sigrelay.screenshots import WIDTHS, _with_command

sys.path.insert(0, str(Path(__file__).parents[1] / "browser"))
from pngpixels import rgb_pixels, variance  # noqa: E402


def _width(png: bytes) -> int:
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">I", png[16:20])[0]


def _assert_shot(png: Path, width: int) -> None:
    data = png.read_bytes()
    assert _width(data) == width
    pixels = rgb_pixels(data)
    inked = sum(1 for pixel in pixels if pixel != pixels[0])
    assert variance(pixels) > 1 and inked > 300, f"{png.name} is blank"


def test_cli_writes_a_desktop_and_a_phone_screenshot_of_each_copy(env, tmp_path: Path):
    require_binary("chromium")
    out = tmp_path / "out"
    args = ["preview", "--from", "anna.schmidt@example.com", "--to", "max@customer.test"]
    result = CliRunner().invoke(main, [*args, "--out", str(out)], env=env)
    assert result.exit_code == 0, result.output
    for name in ("new-1", "reply-1"):
        for shot, width in WIDTHS.items():
            png = out / f"{name}-{shot}.png"
            assert f"wrote {png}" in result.output
            _assert_shot(png, width)


def test_without_playwright_chromium_itself_takes_the_screenshots(tmp_path: Path):
    chromium = require_binary("chromium")
    html = tmp_path / "copy.html"
    html.write_text("<p>Hello</p><p><strong>Anna Schmidt</strong> · Key Account Manager</p>")
    shots = _with_command(chromium, [html])
    assert shots.skipped == ""
    for shot, width in WIDTHS.items():
        _assert_shot(shots.files[html][shot], width)


def test_no_script_of_the_message_runs_in_either_way_of_shooting(env, tmp_path: Path):
    chromium = require_binary("chromium")
    from sigrelay.screenshots import take_screenshots

    html = tmp_path / "copy.html"
    html.write_text(
        "<p>Hello</p><script>document.documentElement.style.background='#ff0000';"
        "document.body.style.background='#ff0000'</script>"
    )
    for shots in (take_screenshots([html]), _with_command(chromium, [html])):
        pixels = rgb_pixels(shots.files[html]["desktop"].read_bytes())
        assert (255, 0, 0) not in set(pixels), "the message's script ran"
