"""Mail written by a real mail program, through the relay (issue 13: "try it as
its users do").

s-nail (Debian `s-nail`, the BSD mailx lineage) answers a message from an mbox
in batch mode and sends over SMTP to the relay, on the example configuration.
Its reply is bottom-posted: "Name <addr> wrote:" without a date, the quote,
then the new text; the signature must follow the new text.
"""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from config import Config
from exampleflow import SALES_SENDER
from mailparts import body_text
from peers import require_binary
from sigrelay.service import Service
from smtpsink import SmtpSink

CUSTOMER = "bob@customer.test"
SIGNATURE_NAME = "Anna Schmidt"  # the example directory's sales employee

MBOX = f"""From {CUSTOMER} Mon Dec  7 10:00:00 2026
From: Bob Buyer <{CUSTOMER}>
To: Anna <{SALES_SENDER}>
Subject: Price list
Date: Mon, 07 Dec 2026 10:00:00 +0000
Message-ID: <price-list-1@customer.test>

Hello Anna,

could you send me the current price list?

Bob

"""


def _s_nail(cfg: Config, tmp_path: Path, commands: str) -> None:
    """Run s-nail in batch mode on a one-message mbox, sending through the relay."""
    binary = require_binary("s-nail")
    mbox = tmp_path / "mbox"
    mbox.write_text(MBOX)
    host, _, port = cfg.relay.listen.rpartition(":")
    completed = subprocess.run(
        [
            binary,
            "-#",  # batch mode: commands from stdin, no prompts, no ~/.mailrc
            "-S",
            "quote",  # a reply includes the original, quoted
            "-S",
            f"from=Anna Schmidt <{SALES_SENDER}>",
            "-S",
            f"mta=smtp://{host}:{port}",
            "-S",
            "smtp-auth=none",
            "-R",  # read-only: the mbox stays as written
            "-f",
            str(mbox),
        ],  # fmt: skip
        input=commands,
        text=True,
        capture_output=True,
        timeout=30,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"},
        check=False,
    )
    assert completed.returncode == 0, completed.stderr


async def _only_copy(sink: SmtpSink) -> str:
    (copy,) = await sink.handler.wait_for(1)
    return body_text(copy.data, "plain").replace("\r\n", "\n")


async def test_s_nail_bottom_posted_reply_gets_the_signature_under_the_new_text(
    cfg: Config, service: Service, sink: SmtpSink, tmp_path: Path
):
    commands = "reply 1\nHere it is, Bob.\n~.\n"
    await asyncio.to_thread(_s_nail, cfg, tmp_path, commands)
    text = await _only_copy(sink)

    assert "> could you send me the current price list?" in text  # s-nail quoted it
    quote = text.index("> could you send")
    newest = text.index("Here it is, Bob.")
    signature = text.index("-- \n")
    assert quote < newest < signature, text
    assert SIGNATURE_NAME in text[signature:]
