"""Fuzz the sender checks (proxy/senders.py): for any message head and any
envelope sender, authenticated or from a trusted MTA, the answer is a clear
refusal (a Refusal with a 550 line, or 554 for a malformed header) or an
acceptance (None), never an exception; the header reader either parses the
originator fields or raises MalformedHeader, nothing else.

The input is the envelope sender, a NUL, then the message.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[2]), str(HERE)]

import atheris  # noqa: E402
from fuzzing import instrumented, mail_seeds, main  # noqa: E402

with atheris.instrument_imports(include=instrumented("proxy.senders", "proxy.address_headers")):
    from proxy.address_headers import MalformedHeader, originator_fields
    from proxy.senders import Refusal, SenderAuthorization


from config import load_config  # noqa: E402
from proxy.auth import Identity  # noqa: E402

CHECKS = SenderAuthorization(load_config(HERE.parents[2] / "config" / "example", env={}))
IDENTITIES = (None, Identity("anna", "anna.schmidt@example.com"))


def _answer(result: Refusal | None) -> None:
    assert result is None or (
        isinstance(result, Refusal) and result.status.startswith(("550 ", "554 "))
    )


def check(data: bytes) -> None:
    sender_bytes, _, message = data.partition(b"\0")
    sender = sender_bytes.decode("utf-8", "surrogateescape")  # what aiosmtpd hands us
    try:
        fields = originator_fields(message)
    except MalformedHeader:
        fields = []
    assert all(isinstance(a, str) and a for f in fields for a in f.addresses)
    for identity in IDENTITIES:
        _answer(CHECKS.check_envelope(identity, sender))
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
