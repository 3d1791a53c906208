"""Fuzz tracker token parsing: any text verifies to a token or to None, never raises.

A token that verifies must be the canonical spelling: encoding it again gives
the very same text (an altered character never verifies, tracker/tokens.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[2]), str(HERE)]

import atheris  # noqa: E402

with atheris.instrument_imports(include=["tracker.tokens"]):
    from tracker.tokens import (
        Keyring,
        Kind,
        Token,
        copy_and_target,
        decode,
        encode,
        unverified_link,
    )

from fuzzing import main  # noqa: E402

KEYRING = Keyring({"t1": b"fuzz-token-signing-key-32-bytes!", "old": b"x" * 32}, current="t1")
COPY = "0123456789abcdef"


def seeds() -> list[bytes]:
    tokens = [
        Token(Kind.OPEN, COPY),
        Token(Kind.CLICK, COPY, target="https://example.com/a?b=c#d"),
        Token(Kind.CLICK, COPY, target="https://exämple.com/ü"),
        Token(Kind.BANNER, COPY, target="spring/a"),
        Token(Kind.OPTOUT, COPY),
        Token(Kind.OPTOUT, "00" * 8, recipient="ab" * 12),
    ]
    texts = [encode(t, KEYRING) for t in tokens]
    return [t.encode() for t in texts] + [b"t1.", b"old.AAAA", b"", b"t1.%%%", b"t1.\xff\xfe"]


def check(data: bytes) -> None:
    for text in {data.decode("utf-8", "replace"), data.decode("utf-8", "surrogateescape")}:
        for kind in Kind:
            token = decode(text, KEYRING, kind)
            if token is not None:
                assert token.kind is kind
                signer = Keyring(
                    {text.partition(".")[0]: KEYRING.keys[text.partition(".")[0]]},
                    current=text.partition(".")[0],
                )
                assert encode(token, signer) == text, "only the canonical spelling verifies"
            fields = copy_and_target(text, KEYRING, kind) if kind is not Kind.OPTOUT else None
            assert fields is None or isinstance(fields[0], str)
        link = unverified_link(text, KEYRING)
        assert link is None or isinstance(link, bytes)


if __name__ == "__main__":
    main(check, seeds)
