"""Plans and message builders shared by the rewriter tests."""

from __future__ import annotations

import base64
import re

from rewriter import Banner, LinkMode, Plan, Signature

TRACKER = "http://127.0.0.1:8080"
SIGNATURE = Signature(
    html='<p class="sig">Jane Roe<br>Example GmbH &middot; <a href="https://example.com/team?x=1&amp;y=2">Team</a></p>',
    text="Jane Roe\nExample GmbH\nhttps://example.com/team",
)
REPLY_SIGNATURE = Signature(html="<p>Jane R. (reply)</p>", text="Jane R. (reply)")
BANNER = Banner(
    image_url=f"{TRACKER}/b/BANNERTOKEN",
    alt="Spring sale",
    link_url="https://shop.example.org/spring",
)
PIXEL = f"{TRACKER}/o/PIXELTOKEN"


def tag_link(url: str) -> str:
    """Our test tracker: the original URL travels inside the click token."""
    return f"{TRACKER}/c/" + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def untag_link(url: str) -> str | None:
    token = url.removeprefix(f"{TRACKER}/c/")
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except ValueError:
        return None


def make_plan(**changes) -> Plan:
    values = dict(
        signature=SIGNATURE,
        banner=BANNER,
        pixel_url=PIXEL,
        link_mode=LinkMode.SIGNATURE,
        tag_link=tag_link,
        untag_link=untag_link,
        tracker_prefix=TRACKER,
    )
    values.update(changes)
    return Plan(**values)


def message(
    body: str | bytes,
    content_type: str = "text/plain; charset=utf-8",
    cte: str | None = None,
    extra: str = "",
) -> bytes:
    head = f"From: a@example.com\r\nTo: b@customer.test\r\nSubject: hi\r\nMIME-Version: 1.0\r\n{extra}Content-Type: {content_type}\r\n"  # noqa: E501 (a literal message line)
    if cte:
        head += f"Content-Transfer-Encoding: {cte}\r\n"
    raw = body if isinstance(body, bytes) else body.encode("utf-8")
    return head.encode() + b"\r\n" + raw


def html_message(inner: str, **kwargs) -> bytes:
    return message(f"<html><body>{inner}</body></html>\r\n", "text/html; charset=utf-8", **kwargs)


def parsed(raw: bytes):
    import email
    import email.policy

    return email.message_from_bytes(raw, policy=email.policy.default)


def body_of(raw: bytes, content_type: str) -> str:
    """The decoded text of the first part of that type."""
    for part in parsed(raw).walk():
        if part.get_content_type() == content_type and not part.is_attachment():
            return part.get_content()
    raise AssertionError(f"no {content_type} part")


_OUR_BLOCKS = re.compile(r'<div class="sigrelay-(?:signature|banner)"[^>]*>.*?</div>', re.S)
_CHARSET = re.compile(r"charset\s*=\s*[\"']?[-\w:.]+", re.I)


def without_additions(text: str, signature_text: str) -> str:
    """A body's text with our signature, banner and pixel taken out, whitespace and
    charset labels ignored: what must equal the original body."""
    text = _OUR_BLOCKS.sub("", text).replace(
        f'<img src="{PIXEL}" width="1" height="1" alt="" style="display:block;border:0">', ""
    )
    text = text.replace("-- \r\n" + signature_text, "")
    # In a part whose text has LF line ends (base64 from MIMEText) the signature has them too.
    text = text.replace("-- \n" + signature_text.replace("\r\n", "\n"), "")
    return "".join(_CHARSET.sub("charset=X", text).split())
