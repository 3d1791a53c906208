"""build_plan: signature, banner and tags of one copy, as the rewriter needs them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from config import ConfigError, QuotedTags, Tracking, build_plan, load_config
from rewriter import LinkMode

TRACKED = Tracking(
    pixel_url="http://127.0.0.1:8080/o/tok",
    banner_url="http://127.0.0.1:8080/b/tok",
    tag_link=lambda url: "http://127.0.0.1:8080/c/" + url,
)


@pytest.fixture
def anna(example):
    sender = example.sender("anna.schmidt@example.com")
    campaign = example.campaign_for(sender.group.name, datetime.now(UTC))
    return sender, campaign, example.variant_for(campaign, "someone@customer.test")


def test_tracked_plan_has_signature_banner_pixel_and_tagging(example, anna):
    sender, campaign, variant = anna
    plan = build_plan(example, sender, campaign=campaign, variant=variant, tracking=TRACKED)
    assert plan.signature == example.signature_for(sender)
    assert plan.reply_signature == example.reply_signature_for(sender)
    assert plan.pixel_url == TRACKED.pixel_url
    assert plan.tag_link is TRACKED.tag_link
    assert plan.banner.image_url == TRACKED.banner_url
    assert plan.banner.link_url == "https://www.example.com/spring"
    assert (plan.banner.alt, plan.banner.width, plan.banner.height) == (variant.alt, 600, 100)
    assert plan.tracker_prefix == "http://127.0.0.1:8080"
    assert plan.link_mode is LinkMode.SIGNATURE


def test_untracked_copy_keeps_the_banner_but_has_no_pixel_or_tagging(example, anna):
    sender, campaign, variant = anna
    untracked = Tracking.untracked("http://127.0.0.1:8080/b/plain")
    plan = build_plan(example, sender, campaign=campaign, variant=variant, tracking=untracked)
    assert (plan.pixel_url, plan.tag_link) == (None, None)
    assert plan.banner.image_url == "http://127.0.0.1:8080/b/plain"
    assert plan.signature is not None


def test_no_tracking_at_all_means_no_banner(example, anna):
    sender, campaign, variant = anna
    plan = build_plan(example, sender, campaign=campaign, variant=variant, tracking=None)
    assert (plan.banner, plan.pixel_url, plan.tag_link) == (None, None, None)
    assert plan.signature == example.signature_for(sender)


def test_no_campaign_means_no_banner_even_with_a_banner_url(example, anna):
    sender, _, _ = anna
    plan = build_plan(example, sender, campaign=None, variant=None, tracking=TRACKED)
    assert plan.banner is None
    assert plan.pixel_url == TRACKED.pixel_url


def test_group_with_privacy_off_never_gets_tags(example_dir, env, edit, anna):
    edit(example_dir / "sigrelay.toml", 'privacy = "personal"', 'privacy = "off"')
    cfg = load_config(example_dir, env)
    _, campaign, variant = anna
    sender = cfg.sender("anna.schmidt@example.com")
    plan = build_plan(cfg, sender, campaign=campaign, variant=variant, tracking=TRACKED)
    assert (plan.pixel_url, plan.tag_link) == (None, None)
    assert plan.banner is not None


def test_global_tracking_switch_off_removes_tags(example_dir, env, anna):
    cfg = load_config(example_dir, env | {"SIGRELAY_PRIVACY__TRACKING_ENABLED": "false"})
    _, campaign, variant = anna
    sender = cfg.sender("anna.schmidt@example.com")
    plan = build_plan(cfg, sender, campaign=campaign, variant=variant, tracking=TRACKED)
    assert (plan.pixel_url, plan.tag_link) == (None, None)


def test_group_excluded_domains_and_link_mode_reach_the_plan(example):
    sender = example.sender("ben.mueller@example.com")
    plan = build_plan(example, sender, campaign=None, variant=None, tracking=TRACKED)
    assert plan.excluded_domains == frozenset({"intranet.example.com"})
    assert plan.link_mode is LinkMode.SIGNATURE


def test_plain_text_links_stay_untracked_unless_the_group_opts_in(example, anna):
    sender, campaign, variant = anna
    plan = build_plan(example, sender, campaign=campaign, variant=variant, tracking=TRACKED)
    assert sender.group.track_text_links is False and plan.track_text_links is False
    opted_in = replace(sender, group=sender.group.model_copy(update={"track_text_links": True}))
    plan = build_plan(example, opted_in, campaign=campaign, variant=variant, tracking=TRACKED)
    assert plan.track_text_links is True


def test_track_text_links_is_a_checked_group_key(example_dir, env):
    toml = example_dir / "sigrelay.toml"
    toml.write_text(toml.read_text().replace("track_text_links = false", "track_text_links = 3"))
    with pytest.raises(ConfigError, match="track_text_links"):
        load_config(example_dir, env)


QUOTED = QuotedTags(
    untag_link=lambda url: "https://target.test/",
    untag_banner=lambda url: "http://127.0.0.1:8080/b/quiet",
    visit_parameter="sr_vid",
)


@pytest.mark.parametrize(
    "tracking",
    [
        replace(TRACKED, quoted=QUOTED),
        Tracking.untracked("http://127.0.0.1:8080/b/plain", QUOTED),
    ],
    ids=["tracked", "untracked"],
)
def test_every_copy_gets_what_neutralising_quoted_tags_needs(example, anna, tracking):
    sender, campaign, variant = anna
    plan = build_plan(example, sender, campaign=campaign, variant=variant, tracking=tracking)
    assert plan.untag_link is QUOTED.untag_link
    assert plan.untag_banner is QUOTED.untag_banner
    assert plan.visit_parameter == "sr_vid"
