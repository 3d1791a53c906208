"""Signature images for tests: a real PNG of one colour, and a config whose
"sales" template shows it as `image("logo.png")`."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

LOGO_LINE = '<tr><td><img src="{{ image("logo.png") }}" alt="Example logo" width="40"></td></tr>\n'
LOGO_RGB = (200, 30, 30)


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A PNG of one colour, which a browser decodes (CRCs and zlib data real)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


LOGO = png(40, 20, LOGO_RGB)


def add_logo(config_dir: Path, *, embed: bool) -> None:
    """images/logo.png, shown by the example's sales.html; `embed`: the sales
    group embeds images as CID parts."""
    (config_dir / "images").mkdir(exist_ok=True)
    (config_dir / "images" / "logo.png").write_bytes(LOGO)
    template = config_dir / "templates" / "sales.html"
    text = template.read_text(encoding="utf-8")
    template.write_text(text.replace("</table>", LOGO_LINE + "</table>"), encoding="utf-8")
    if embed:
        toml = config_dir / "sigrelay.toml"
        text = toml.read_text(encoding="utf-8")
        toml.write_text(text.replace('name = "sales"\n', 'name = "sales"\nembed_images = true\n'))
