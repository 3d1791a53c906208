"""build_plan: what the rewriter gets for one copy.

The proxy decides *whether* a copy is tracked (privacy mode, internal
recipient, opt-out, consent) and makes the token URLs; config turns that
plus the sender's group and the campaign into a `rewriter.Plan`.
"""

from __future__ import annotations

import functools
import mimetypes
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from config.model import Config
from config.rules import Sender
from config.schema import BannerDelivery, CampaignSection, VariantSection
from rewriter import Banner, InlineImage, Plan


@dataclass(frozen=True)
class Tracking:
    """The token URLs of one copy, made by the proxy.

    For an untracked copy (internal recipient, opted out, mode off) pass
    `Tracking.untracked(banner_url, quoted)`: the banner still shows, through a
    banner URL that counts nothing, but there is no pixel and no tagged link.

    `quoted` is what neutralising the tags of earlier copies quoted in this
    message needs, for tracked and untracked copies alike (a thread forwarded
    to a colleague must not speak for its first recipient either).
    """

    pixel_url: str | None = None
    banner_url: str | None = None
    tag_link: Callable[[str], str] | None = None
    quoted: QuotedTags | None = None

    @classmethod
    def untracked(cls, banner_url: str | None = None, quoted: QuotedTags | None = None) -> Tracking:
        return cls(banner_url=banner_url, quoted=quoted)


@dataclass(frozen=True)
class QuotedTags:
    """How our tracker URLs of earlier copies are made inert (rewriter/quoted_tags.py).

    `untag_link` maps one of our click URLs to its target, `untag_banner` one of
    our banner URLs to the same image at a URL that counts nothing; both give
    None for a URL that is not ours or cannot be read. `visit_parameter` is the
    query parameter of landing-page visit ids."""

    untag_link: Callable[[str], str | None]
    untag_banner: Callable[[str], str | None]
    visit_parameter: str


def build_plan(
    cfg: Config,
    sender: Sender,
    *,
    campaign: CampaignSection | None,
    variant: VariantSection | None,
    tracking: Tracking | None,
) -> Plan:
    """`tracking=None` means no tracker URLs at all: no pixel, no tagged
    links and (having no URL for it) no hosted banner; an embedded banner
    (campaign delivery "embedded") goes along as an inline image regardless."""
    group = sender.group
    tracking = tracking or Tracking()
    quoted = tracking.quoted
    # The group's privacy mode and the global switch overrule whatever the
    # caller passed: a group with privacy "off" never carries a tag.
    tracked = cfg.tracking_allowed(group)
    banner, inline = None, ()
    if campaign is not None and variant is not None:
        if campaign.delivery is BannerDelivery.EMBEDDED:
            inline = (_inline_banner(cfg, campaign, variant),)
            image_url: str | None = f"cid:{inline[0].cid}"
        else:
            image_url = tracking.banner_url
        if image_url:
            banner = Banner(
                image_url=image_url,
                alt=variant.alt or campaign.name,
                link_url=variant.link,
                width=variant.width,
                height=variant.height,
            )
    return Plan(
        signature=cfg.signature_for(sender),
        reply_signature=cfg.reply_signature_for(sender),
        banner=banner,
        pixel_url=tracking.pixel_url if tracked else None,
        link_mode=group.link_mode,
        tag_link=tracking.tag_link if tracked else None,
        tracker_prefix=cfg.tracker.public_url,
        excluded_domains=frozenset(group.excluded_domains),
        embed_images=group.embed_images or bool(inline),
        track_text_links=group.track_text_links,
        untag_link=quoted.untag_link if quoted else None,
        untag_banner=quoted.untag_banner if quoted else None,
        visit_parameter=quoted.visit_parameter if quoted else "",
        inline_images=inline,
    )


def _inline_banner(cfg: Config, campaign: CampaignSection, variant: VariantSection) -> InlineImage:
    """The banner as a CID part: shown even with remote images blocked, but an
    embedded image cannot tell us it was seen, so it counts no impression."""
    path = cfg.banners_dir / variant.image
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return InlineImage(
        cid=f"banner.{campaign.id}.{variant.id}@sigrelay",
        content_type=content_type,
        data=_read_banner(path, path.stat().st_mtime_ns),
        filename=path.name,
    )


@functools.lru_cache(maxsize=64)
def _read_banner(path: Path, mtime_ns: int) -> bytes:
    # Keyed by mtime: a banner replaced on disk is read again (hot reload).
    del mtime_ns
    return path.read_bytes()
