"""A spool on a full file system: the client gets 452, never a 250 without
the message on disk, and everything acknowledged is delivered once space
and the upstream are back. The spool lives on a 1 MB tmpfs (needs root)."""

from __future__ import annotations

import os
import shutil
import smtplib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from relayclient import DeliveryWatch, smtp_send

from peers import missing_peer
from smtpsink import SmtpSink

SALES = "anna.schmidt@example.com"
FILLER = ("x" * 76 + "\r\n") * 2000  # ~156 KB: a 1 MB spool holds a handful


def big_message(number: int) -> bytes:
    return (
        f"From: {SALES}\r\nTo: kim@customer.test\r\nSubject: Big {number}\r\n"
        f"Message-ID: <big-{number}@example.com>\r\n\r\n{FILLER}"
    ).encode()


@pytest.fixture
def tiny_spool(relay_env: dict[str, str]) -> Iterator[Path]:
    """The relay's spool directory, mounted as a 1 MB tmpfs."""
    spool = Path(relay_env["SIGRELAY_DATA"]) / "spool"
    spool.mkdir(parents=True)
    mount = shutil.which("mount")
    if os.geteuid() != 0 or mount is None:
        missing_peer("a full file system needs root to mount a small tmpfs")
    result = subprocess.run([mount, "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(spool)],
                            capture_output=True, text=True)  # fmt: skip
    if result.returncode != 0:
        missing_peer(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    yield spool
    subprocess.run(["umount", "-l", str(spool)], check=True)


async def test_full_spool_answers_452_and_loses_nothing_acknowledged(
    tiny_spool: Path, start_relay, sink: SmtpSink
):  # tiny_spool first: unmounted only after the relay has stopped
    await sink.stop()  # the upstream is down: nothing leaves the spool meanwhile
    relay = await start_relay()
    acked, refused = [], None
    for number in range(20):
        try:
            await smtp_send(relay.address[1], SALES, ["kim@customer.test"], big_message(number))
        except smtplib.SMTPDataError as exc:
            refused = exc
            break
        acked.append(number)

    assert refused is not None and refused.smtp_code == 452
    assert len(relay.spool.list()) == len(acked) > 0, "every 250 is on disk, the 452 is not"
    await sink.start()
    relay.spool.request_flush()  # as `sigrelay spool retry` does: no waiting for back-off
    watch = DeliveryWatch(relay.worker)
    await watch.until(lambda: len(watch.done) == len(acked), timeout=30)
    ids = [int(r.data.split(b"Message-ID: <big-")[1].split(b"@")[0]) for r in sink.handler.received]
    assert sorted(ids) == acked, "each acknowledged message once, nothing else"
