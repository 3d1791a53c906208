"""The example configuration's people, and how a test sends through the relay
and reads the command line, the way an admin or a mail client would."""

from __future__ import annotations

import asyncio
import json
import os
import smtplib
import sys
from email.message import EmailMessage

from config import Config

SALES_SENDER = "anna.schmidt@example.com"  # group "sales": privacy personal
STAFF_SENDER = "ben.mueller@example.com"  # default group "staff": privacy anonymous
EXTERNAL = ["kim@customer.test", "lee@partner.test"]
INTERNAL = "carla.rossi@example.com"


def html_message(sender: str, to: list[str]) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = "Our offer"
    msg.set_content("Hello,\n\nplease find our offer below.\n")
    msg.add_alternative(
        "<html><body><p>Hello,</p><p>please find our <b>offer</b> below.</p></body></html>",
        subtype="html",
    )
    return msg.as_bytes()


def send(cfg: Config, sender: str, rcpts: list[str], data: bytes) -> None:
    host, _, port = cfg.relay.listen.rpartition(":")
    with smtplib.SMTP(host, int(port), timeout=10) as client:
        client.sendmail(sender, rcpts, data)


async def relay(cfg: Config, sender: str, rcpts: list[str]) -> None:
    await asyncio.to_thread(send, cfg, sender, rcpts, html_message(sender, rcpts))


async def cli_json(env: dict[str, str], *args: str) -> dict:
    """Run `sigrelay <args> --json` as a process; its parsed output."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sigrelay", *args, "--json",
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return json.loads(out)
