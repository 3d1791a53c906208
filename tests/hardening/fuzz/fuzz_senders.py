"""Fuzz the sender checks (proxy/senders.py): for any message head and any
envelope sender, authenticated or from a trusted MTA, the answer is a clear
refusal (a Refusal with a 550 line) or an acceptance (None), never an exception.

The input is the envelope sender, a NUL, then the message.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[2]), str(HERE)]

import atheris  # noqa: E402
from fuzzing import instrumented, mail_seeds, main  # noqa: E402

with atheris.instrument_imports(include=instrumented("proxy.senders")):
    from proxy.senders import Refusal, SenderAuthorization, from_header_addresses


from config import load_config  # noqa: E402
from proxy.auth import Identity  # noqa: E402

CHECKS = SenderAuthorization(load_config(HERE.parents[2] / "config" / "example", env={}))
IDENTITIES = (None, Identity("anna", "anna.schmidt@example.com"))
# Finding 3 of issue 14 (deeply nested comments in From:), being fixed in branch
# smtp-edges; tests/hardening/test_fuzz_findings.py holds it as a strict xfail.
# Skipped here so a run explores past it. Remove once that branch is merged.
KNOWN = (RecursionError,)


def _answer(result: Refusal | None) -> None:
    assert result is None or (isinstance(result, Refusal) and result.status.startswith("550 "))


def check(data: bytes) -> None:
    sender_bytes, _, message = data.partition(b"\0")
    sender = sender_bytes.decode("utf-8", "surrogateescape")  # what aiosmtpd hands us
    try:
        addresses = from_header_addresses(message)
    except KNOWN:
        return
    assert addresses is None or all(isinstance(a, str) and a for a in addresses)
    for identity in IDENTITIES:
        _answer(CHECKS.check_envelope(identity, sender))
        with contextlib.suppress(KNOWN):
            _answer(CHECKS.check_from(identity, message, sender))


def seeds() -> list[bytes]:
    heads = [
        b"From: Anna <anna.schmidt@example.com>\r\nTo: x@customer.test\r\n\r\nHi\r\n",
        b"From : CEO <ceo@bank.test>\r\nFrom: anna.schmidt@example.com\r\n\r\n",
        b"From: ceo@bank.test (x) @example.com\r\n\r\n",
        b"Sender: a@example.com\r\nResent-From: b@bank.test\r\nFrom: a@example.com\r\n\r\n",
        b"From: " + b"(" * 50 + b"a@example.com" + b")" * 50 + b"\r\n\r\n",
        b"From: =?utf-8?q?Anna?= <anna.schmidt@example.com>, <@a:b@c>\r\n\r\n",
    ]
    senders = [b"anna.schmidt@example.com", b"", b"x\xff@example.com", b"<@a:b@c>"]
    mails = [m.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n" for m in mail_seeds()[:150]]
    return [s + b"\0" + h for s in senders for h in heads] + [senders[0] + b"\0" + m for m in mails]


if __name__ == "__main__":
    main(check, seeds)
