"""Reading the pixels of a PNG screenshot without an imaging library (RFC 2083):
enough of PNG for what Chromium writes (8-bit RGB/RGBA, not interlaced)."""

from __future__ import annotations

import struct
import zlib

_CHANNELS = {2: 3, 6: 4}  # colour type -> bytes per pixel (8-bit samples)


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def rgb_pixels(png: bytes) -> list[tuple[int, int, int]]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", data)
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    assert header is not None, "no IHDR"
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in _CHANNELS and interlace == 0, f"unsupported PNG {header}"
    bpp = _CHANNELS[colour]
    raw, stride = zlib.decompress(idat), width * bpp
    previous, pixels = bytearray(stride), []
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up, corner = previous[i], previous[i - bpp] if i >= bpp else 0
            predictor = (0, left, up, (left + up) // 2, _paeth(left, up, corner))[kind]
            line[i] = (line[i] + predictor) & 0xFF
        pixels += [tuple(line[i : i + 3]) for i in range(0, stride, bpp)]
        previous = line
    return pixels  # type: ignore[return-value]


def variance(pixels: list[tuple[int, int, int]]) -> float:
    """Variance of the grey levels: 0 for a blank (one-colour) image."""
    grey = [(r * 299 + g * 587 + b * 114) / 1000 for r, g, b in pixels]
    mean = sum(grey) / len(grey)
    return sum((v - mean) ** 2 for v in grey) / len(grey)
