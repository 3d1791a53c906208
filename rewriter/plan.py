"""What the rewriter is told to do with one copy: plain, frozen data.

The rewriter never looks anything up; config/ and proxy/ put everything it
needs here (rendered signature, banner URLs, the link-tagging function), so
`rewrite(message, plan)` is a pure function of its two arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

MARKER_HEADER = "X-Sigrelay-Processed"
"""Added to every copy we rewrote; a message that already carries it is left alone."""

SKIP_HEADER = "X-Sigrelay-Skip"
"""A sender (or an upstream filter) may set this to have the message passed unchanged."""


class LinkMode(StrEnum):
    """Which links get a click-tracking redirect."""

    NONE = "none"
    SIGNATURE = "signature"  # links in our signature and banner only (default)
    ALL = "all"  # also the links the sender wrote


class Outcome(StrEnum):
    REWRITTEN = "rewritten"
    SKIPPED = "skipped"  # deliberately passed unchanged (signed, calendar, marker, ...)
    FAILED = "failed"  # an exception: the original is passed unchanged (fail open)


@dataclass(frozen=True)
class Signature:
    html: str
    text: str


@dataclass(frozen=True)
class Banner:
    image_url: str  # hosted by the tracker: /b/<token> (counts an impression)
    alt: str
    link_url: str | None = None  # original target; tagged through Plan.tag_link
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class InlineImage:
    """An image sent inside the message (multipart/related) instead of by URL.

    The signature or banner HTML refers to it as `cid:<cid>`."""

    cid: str  # Content-ID without the angle brackets, e.g. "logo.3f2a@sigrelay"
    content_type: str  # e.g. "image/png"
    data: bytes
    filename: str | None = None


@dataclass(frozen=True)
class Plan:
    """Everything one copy needs. `tag_link` maps an original URL to its tracked
    redirect URL; it is None for untracked copies (internal, opted out, mode off)."""

    signature: Signature | None
    banner: Banner | None = None
    pixel_url: str | None = None
    link_mode: LinkMode = LinkMode.SIGNATURE
    tag_link: Callable[[str], str] | None = None
    tracker_prefix: str = ""  # URLs starting with this are ours: never tagged twice
    excluded_domains: frozenset[str] = field(default_factory=frozenset)
    reply_signature: Signature | None = None  # shorter variant for replies/forwards
    placeholder: str | None = None  # text the sender typed where the signature goes
    allow_8bit: bool = False  # upstream offers 8BITMIME
    marker_value: str = "1"
    resign_dkim: bool = False  # the relay re-signs: DKIM-signed mail may be rewritten
    # Maps one of our tracked URLs (tracker_prefix + "/c/...") back to its original
    # target, or None; used to restore tracked links quoted in a reply.
    untag_link: Callable[[str], str | None] | None = None
    # Maps one of our banner URLs (tracker_prefix + "/b/...") quoted in a reply to
    # a URL of the same image that counts nothing; None (or no function): the
    # quoted banner image is removed. An earlier copy's banner must not count
    # impressions for its first recipient when the thread is forwarded.
    untag_banner: Callable[[str], str | None] | None = None
    # The query parameter of landing-page visit ids (tracker/landing.py). A visit
    # id names the copy it came from, so it is stripped from every link of the
    # message before we add ours; "" strips nothing.
    visit_parameter: str = ""
    # Plain-text parts get tracked links only if the group opts in: a long
    # tracker URL in plain text, where the reader sees it, looks like phishing.
    track_text_links: bool = False
    # Images referenced by URL (hosted by the tracker) is the default: embedded
    # CID images make Outlook and iPhone show a paperclip on every mail. A group
    # may embed them: then every image whose cid the HTML refers to goes along
    # as an inline part of a multipart/related around the HTML body.
    embed_images: bool = False
    inline_images: tuple[InlineImage, ...] = ()


@dataclass(frozen=True)
class Rewritten:
    message: bytes
    outcome: Outcome
    reason: str = ""
