"""Reading delivered copies the way a test (or a recipient) would."""

from __future__ import annotations

import email
import re
from email.message import EmailMessage
from email.policy import default

TRACKER_TOKEN = re.compile(r"/(o|b|c|u)/([A-Za-z0-9_.\-]+)")


def parse(data: bytes) -> EmailMessage:
    return email.message_from_bytes(data, policy=default)  # type: ignore[return-value]


def body_text(data: bytes, subtype: str) -> str:
    """The decoded text of the first text/<subtype> body part."""
    part = parse(data).get_body(preferencelist=(subtype,))
    assert part is not None, f"no text/{subtype} part"
    return part.get_content()


def tokens(html: str, kind: str) -> list[str]:
    return [tok for k, tok in TRACKER_TOKEN.findall(html) if k == kind]


def hrefs(html: str) -> list[str]:
    import html as html_module

    return [html_module.unescape(h) for h in re.findall(r'href="([^"]*)"', html)]
