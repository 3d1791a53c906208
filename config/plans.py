"""build_plan: what the rewriter gets for one copy, built here and only here.

The proxy decides at planning time which copies may be tracked (privacy mode,
internal recipient, opt-out, consent, the sender's no-track switch), stores
that with the copy, and makes the token URLs; config turns that plus the
sender's group and the campaign into a `rewriter.Plan`. Every other fact of the
delivery is passed in too (the upstream's 8BITMIME, the opt-out link, whether
the relay signs with DKIM): nothing patches the Plan afterwards.

Tracked or not is decided once per rendering, in `build_plan`: the copy's own
decision, overruled by the running config (a group switched to privacy "off",
or the global switch, since the copy was planned). The pixel, the tagged links
and the opt-out link all follow that one answer.
"""

from __future__ import annotations

import functools
import mimetypes
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from config.images import ImageFile, content_id
from config.model import Config
from config.optout_footer import with_optout_link
from config.recipient_rules import shows_banner
from config.rules import Sender
from config.schema import BannerDelivery, CampaignSection, GroupSection, VariantSection
from config.schema_recipients import RecipientRuleSection
from rewriter import Banner, InlineImage, Plan
from rewriter.utm import with_utm


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

    @property
    def tracked(self) -> bool:
        """The copy was planned as tracked: it has tracker URLs of its own."""
        return self.pixel_url is not None or self.tag_link is not None

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
    allow_8bit: bool = False,
    optout_url: str | None = None,
    resign_dkim: bool = False,
    language: str | None = None,
    rule: RecipientRuleSection | None = None,
    received_at: datetime | None = None,
) -> Plan:
    """`tracking=None` means no tracker URLs at all: no pixel, no tagged
    links and (having no URL for it) no hosted banner; an embedded banner
    (campaign delivery "embedded") goes along as an inline image regardless.

    `allow_8bit`: the upstream takes 8bit text (8BITMIME), so added non-ASCII
    text need not turn a whole 7bit part into quoted-printable; `optout_url`:
    the copy's opt-out link, put under the signature of a tracked copy;
    `resign_dkim`: the relay signs what it sends, so a DKIM-signed original may
    be rewritten; `language`: the copy's (config/languages.py; None: the group's
    default), for the templates and the opt-out line; `rule`: the recipient rule
    of the copy's recipients (config/recipient_rules.py): other templates, a
    disclaimer, no banner. A rule that adds nothing never gets here: the
    planner sends such a copy as it came; `received_at`: when the message was
    received, which picks a scheduled signature variant (config/schema_variants.py)."""
    group = sender.group
    tracking = tracking or Tracking()
    quoted = tracking.quoted
    # Decided here, once: the group's privacy mode and the global switch
    # overrule whatever the caller passed (a group with privacy "off" never
    # carries a tag), and an untracked copy has no opt-out link either.
    tracked = cfg.tracking_allowed(group) and tracking.tracked
    banner: Banner | None = None
    inline: tuple[InlineImage, ...] = ()
    if not shows_banner(rule):
        campaign = variant = None
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
    # One image() for both renderings: what they refer to goes along as CID
    # parts when the group embeds (the rewriter keeps those the HTML names).
    images = cfg.image_references(group)
    signature = cfg.signature_for(sender, language, rule, images=images, now=received_at)
    reply = cfg.reply_signature_for(sender, language, rule, images=images, now=received_at)
    inline += tuple(_inline_image(image) for image in images.used.values())
    if tracked and optout_url is not None:
        signature = with_optout_link(signature, optout_url, language or group.language)
        reply = with_optout_link(reply, optout_url, language or group.language)
    return Plan(
        signature=signature,
        reply_signature=reply,
        banner=banner,
        pixel_url=tracking.pixel_url if tracked else None,
        link_mode=group.link_mode,
        tag_link=_with_utm(tracking.tag_link, utm_parameters(group, campaign, variant))
        if tracked
        else None,
        tracker_prefix=cfg.tracker.public_url,
        excluded_domains=frozenset(group.excluded_domains),
        embed_images=group.embed_images or bool(inline),
        track_text_links=group.track_text_links,
        untag_link=quoted.untag_link if quoted else None,
        untag_banner=quoted.untag_banner if quoted else None,
        visit_parameter=quoted.visit_parameter if quoted else "",
        inline_images=inline,
        allow_8bit=allow_8bit,
        resign_dkim=resign_dkim,
    )


def utm_parameters(
    group: GroupSection, campaign: CampaignSection | None, variant: VariantSection | None
) -> dict[str, str]:
    """The group's UTM parameters, the campaign's over them, placeholders filled;
    a parameter naming a campaign or variant the copy does not have is left out."""
    names = {
        "group": group.name,
        "campaign": campaign.id if campaign else "",
        "variant": variant.id if variant else "",
    }
    merged = {**group.utm, **(campaign.utm if campaign else {})}
    filled = {}
    for name, template in merged.items():
        value = template.format_map(names)
        if value.strip() and not any(f"{{{k}}}" in template and not v for k, v in names.items()):
            filled[name] = value
    return filled


def _with_utm(
    tag_link: Callable[[str], str] | None, params: dict[str, str]
) -> Callable[[str], str] | None:
    if tag_link is None or not params:
        return tag_link
    return lambda url: tag_link(with_utm(url, params))


def _inline_image(image: ImageFile) -> InlineImage:
    return InlineImage(content_id(image), image.content_type, image.data, image.name)


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
