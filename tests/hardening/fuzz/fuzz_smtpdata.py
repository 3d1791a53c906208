"""Fuzz the SMTP DATA reader (proxy/smtpdata.py read_data) over a StreamReader fed bytes.

Any bytes give a DataRead, or IncompleteReadError when the stream ends before
the end-of-data line (the client went away). And what our own client sends
(wire_form, proxy/upstream.py) is read back as the message it came from.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[2]), str(HERE)]

import atheris  # noqa: E402

with atheris.instrument_imports(include=["proxy.smtpdata"]):
    from proxy.smtpdata import TOO_MUCH, DataRead, read_data

from fuzzing import mail_seeds, main  # noqa: E402

from proxy.upstream import crlf_lines, wire_form  # noqa: E402

LOOP = asyncio.new_event_loop()
LIMITS = (None, 64, 4096)
LINE_LIMIT = 1001  # aiosmtpd's command line limit, the reader's own limit


def _read(stream: bytes, size_limit: int | None) -> DataRead | None:
    async def run() -> DataRead | None:
        reader = asyncio.StreamReader(limit=LINE_LIMIT)
        reader.feed_data(stream)
        reader.feed_eof()
        try:
            return await read_data(reader, size_limit)
        except asyncio.IncompleteReadError:
            return None

    return LOOP.run_until_complete(run())


def check(data: bytes) -> None:
    size_limit = LIMITS[len(data) % len(LIMITS)]
    result = _read(data, size_limit)
    assert result is None or isinstance(result, DataRead)
    if result is not None and result.refusal is not None:
        assert result.refusal == TOO_MUCH and result.content == b""
    # The round trip: the message our own client would send is read back whole.
    sent = crlf_lines(data)
    result = _read(wire_form(data) + b"MAIL FROM:<next@x>\r\n", None)
    assert result is not None and result.refusal is None
    assert result.content == sent, "DATA read back differs from what was sent"


if __name__ == "__main__":
    main(check, lambda: [b"", b".", b".\r\n", b"a\r\n.\r\n", b"\r\n.\r\n", *mail_seeds()[:200]])
