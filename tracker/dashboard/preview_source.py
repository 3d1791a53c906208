"""What the dashboard's preview page is given: a way to render a preview, no SMTP.

The tracker knows no SMTP and does not import proxy/; the process that wires
the parts (sigrelay/service.py) hands in a `PreviewSource` made from the
relay's own preview (proxy/preview.py), and the page only shows its result.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

NEW, REPLY = "new", "reply"
KINDS = (NEW, REPLY)  # the sample messages the page offers


@dataclass(frozen=True)
class RenderedCopy:
    title: str  # which copy and who gets it
    facts: str  # privacy mode, tracked or not, banner, rewriter outcome
    html: str | None  # the copy's HTML part (None: plain text only)
    text: str | None  # its plain-text part


@dataclass(frozen=True)
class RenderedPreview:
    summary: str
    notes: tuple[str, ...]
    copies: tuple[RenderedCopy, ...]


@dataclass(frozen=True)
class PreviewSource:
    # (address, name) of every employee in the running directory.
    employees: Callable[[], Sequence[tuple[str, str]]]
    # (sender, recipients, one of KINDS) -> the copies as the relay would send them.
    render: Callable[[str, tuple[str, ...], str], Awaitable[RenderedPreview]]
