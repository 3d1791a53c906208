"""Issue 13 part 5: one form of line end per copy, on the demo's own path.

`make run`'s example configuration delivers into the local outbox (Maildir);
its HTML signature templates are multi-line files that Jinja renders with LF.
The copy in the outbox must carry CRLF line ends only, the template's lines
included (README "Local outbox").
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from config import Config
from exampleflow import EXTERNAL, SALES_SENDER, relay
from mailparts import body_text
from sigrelay.service import Service


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "SIGRELAY_UPSTREAM__URL": "maildir:outbox"}  # the demo's upstream


async def _delivered(service: Service, count: int) -> None:
    assert service.relay is not None
    done = asyncio.Event()
    finished: list[str] = []

    def note(queue_id: str, _state: object) -> None:
        finished.append(queue_id)
        if len(finished) >= count:
            done.set()

    service.relay.worker.on_done.append(note)
    await asyncio.wait_for(done.wait(), 15)


async def test_the_outbox_copy_has_crlf_line_ends_only_template_lines_included(
    cfg: Config, service: Service
):
    delivered = asyncio.create_task(_delivered(service, 1))
    await relay(cfg, SALES_SENDER, EXTERNAL[:1])
    await delivered

    (copy,) = (Path(cfg.data.dir) / "outbox" / "new").iterdir()
    data = copy.read_bytes()
    bare_lf = data.count(b"\n") - data.count(b"\r\n")
    bare_cr = data.count(b"\r") - data.count(b"\r\n")
    assert (bare_lf, bare_cr) == (0, 0)
    # nor inside a part: the template's LFs once went out as "=0A" in quoted-printable
    assert b"=0A" not in data
    html = body_text(data, "html")
    # the template's rows, each on its own CRLF line inside the HTML part
    assert "</td></tr>\r\n<tr><td" in html and "\n" not in html.replace("\r\n", "")
