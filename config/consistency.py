"""Rules that span sections, each error naming the exact field that is wrong.

These run after the sections validated on their own (config/schema.py), so
they can trust types and only look at how the parts fit together.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from config.model import Config
from config.rules import default_group
from config.self_loop import own_listener

Location = tuple[str | int, ...]


def cross_section_problems(
    cfg: Config, banners_dir: Path
) -> Iterator[tuple[Location, str, str | None]]:
    """Yields (field location, reason, hint)."""
    listener = own_listener(cfg.relay, cfg.upstream_endpoint)
    if listener is not None:
        yield (
            ("upstream", "url"),
            f"{cfg.upstream.url} is the relay's own listener {listener}: every message "
            "would be sent back to the relay, round and round",
            "point upstream.url at the mail server that delivers (e.g. Microsoft 365's "
            "inbound connector, Postfix's reinjection port), never at sigrelay itself",
        )
    seen_groups: set[str] = set()
    for index, group in enumerate(cfg.groups):
        if group.name in seen_groups:
            yield ("groups", index, "name"), f"group {group.name!r} is defined twice", None
        seen_groups.add(group.name)
    if default_group(cfg.groups) is None:
        yield (
            ("groups",),
            "there is no default group for senders no rule matches",
            'name one group "default" or leave one group without match rules',
        )

    for index, variant in enumerate(cfg.signature_variants):
        for position, name in enumerate(variant.groups):
            if name not in seen_groups:
                where = ("signature_variants", index, "groups", position)
                yield where, f"no group named {name!r}", f"known: {', '.join(sorted(seen_groups))}"

    seen_campaigns: set[str] = set()
    known_topics = {t.name for t in cfg.topics} | {
        topic for c in cfg.campaigns for v in c.variants for topic in v.topics
    }
    for index, campaign in enumerate(cfg.campaigns):
        if campaign.id in seen_campaigns:
            yield ("campaigns", index, "id"), f"campaign {campaign.id!r} is defined twice", None
        seen_campaigns.add(campaign.id)
        for position, name in enumerate(campaign.groups):
            if name not in seen_groups:
                yield (
                    ("campaigns", index, "groups", position),
                    f"no group named {name!r}",
                    f"known groups: {', '.join(sorted(seen_groups))}",
                )
        if campaign.follow_up_of is not None and all(
            c.id != campaign.follow_up_of for c in cfg.campaigns
        ):
            yield (
                ("campaigns", index, "follow_up_of"),
                f"no campaign named {campaign.follow_up_of!r}",
                "name the campaign whose clickers should see this one",
            )
        for position, topic in enumerate(campaign.target_topics):
            if topic not in known_topics:
                yield (
                    ("campaigns", index, "target_topics", position),
                    f"no topic named {topic!r}: no recipient could ever be targeted",
                    "name a [[topics]] entry or a topic some banner variant lists",
                )
        for position, variant in enumerate(campaign.variants):
            if not (banners_dir / variant.image).is_file():
                yield (
                    ("campaigns", index, "variants", position, "image"),
                    f"banner image {variant.image!r} not found in {banners_dir}",
                    "put the file into banners/ or fix the name",
                )
