"""The messages `sigrelay preview` shows when the admin gives none: a new mail
and a reply quoting a thread, each plain text + HTML as mail programs send them.

The reply quotes the way Gmail does (a `gmail_quote` block after an "On …
wrote:" line, `> ` in the text part), so the preview shows where the shorter
reply signature lands: under the new text, above the quoted thread.
"""

from __future__ import annotations

import html as html_text
from collections.abc import Sequence
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

NEW, REPLY = "new", "reply"
KINDS = (NEW, REPLY)

_NEW_TEXT = """Hello,

thank you for your interest. As promised, here is a short overview of our offer;
the details are on our website: https://www.example.com/offer

Kind regards
"""

_NEW_HTML = """<html><body>
<p>Hello,</p>
<p>thank you for your interest. As promised, here is a short overview of our offer;
the details are on <a href="https://www.example.com/offer">our website</a>.</p>
<p>Kind regards</p>
</body></html>
"""

_REPLY_TEXT = """Hi,

Thursday at 10:00 suits me. I will bring the updated figures.

Best

{attribution}
> Hello,
>
> could we meet this week to go through the offer? Thursday morning would
> suit us.
>
> Thanks
"""

_REPLY_HTML = """<html><body>
<div dir="ltr"><p>Hi,</p>
<p>Thursday at 10:00 suits me. I will bring the updated figures.</p>
<p>Best</p></div>
<div class="gmail_quote"><div dir="ltr" class="gmail_attr">{attribution}<br></div>
<blockquote class="gmail_quote"
 style="margin:0 0 0 .8ex;border-left:1px #ccc solid;padding-left:1ex">
<p>Hello,</p>
<p>could we meet this week to go through the offer? Thursday morning would suit us.</p>
<p>Thanks</p>
</blockquote></div>
</body></html>
"""


def sample_message(kind: str, mail_from: str, rcpts: Sequence[str], now: datetime) -> bytes:
    """The sample `kind` ("new" or "reply") from `mail_from` to `rcpts`, CRLF line ends."""
    if kind not in KINDS:
        raise ValueError(f"unknown sample {kind!r}; expected one of {', '.join(KINDS)}")
    message = EmailMessage(policy=SMTP)
    message["From"] = mail_from
    message["To"] = ", ".join(rcpts)
    message["Date"] = format_datetime(now)
    domain = mail_from.rpartition("@")[2] or "preview.invalid"
    message["Message-ID"] = make_msgid("preview", domain=domain)
    if kind == NEW:
        message["Subject"] = "Our offer"
        text, html = _NEW_TEXT, _NEW_HTML
    else:
        # The recipient wrote first; the sender answers above the quote.
        asker = rcpts[0] if rcpts else "customer@example.net"
        earlier = format_datetime(now - timedelta(days=1))
        attribution = f"On {earlier}, {asker} wrote:"
        parent = make_msgid("thread", domain=asker.rpartition("@")[2] or "example.net")
        message["Subject"] = "Re: Our offer"
        message["In-Reply-To"] = parent
        message["References"] = parent
        text = _REPLY_TEXT.format(attribution=attribution)
        html = _REPLY_HTML.format(attribution=html_text.escape(attribution))
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message.as_bytes()
