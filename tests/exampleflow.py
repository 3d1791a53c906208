"""The example configuration's people, and how a test sends through the relay
and reads the command line, the way an admin or a mail client would."""

from __future__ import annotations

import asyncio
import json
import os
import re
import smtplib
import sys
from email.message import EmailMessage
from typing import TYPE_CHECKING

from config import Config

if TYPE_CHECKING:
    from sigrelay.service import Service

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


async def wait_recorded(service: Service, copy: bytes, timeout: float = 10) -> None:
    """Until the store holds the sent fact of a copy the sink received. The relay
    records beside delivery; a recipient follows a link only after that, and a
    test that clicks the instant the copy arrives must wait for it too."""
    queue_id = re.search(rb"\(sigrelay\) with \S+ id ([^\s;]+)", copy)
    assert queue_id, "the relay's Received: names its queue id"
    assert service.relay is not None
    assert await service.relay.recorder.stored(queue_id.group(1).decode(), timeout)


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
