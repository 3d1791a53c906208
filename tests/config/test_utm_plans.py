"""UTM parameters per group and campaign on the tracked links of a copy (issue 18, item 5)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from config import ConfigError, Tracking, build_plan, load_config

TRACKED = Tracking(
    pixel_url="http://127.0.0.1:8080/o/tok",
    tag_link=lambda url: "http://127.0.0.1:8080/c/" + url,
)
GROUP_UTM = '\nutm = { utm_source = "email", utm_medium = "signature", utm_content = "{group}" }\n'
CAMPAIGN_UTM = '\nutm = { utm_medium = "banner", utm_campaign = "{campaign}-{variant}" }\n'


def _config(example_dir, edit, env, *, group: str = "", campaign: str = ""):
    toml = example_dir / "sigrelay.toml"
    if group:
        edit(toml, 'reply_text = "sales-reply.txt"\n', 'reply_text = "sales-reply.txt"' + group)
    if campaign:
        edit(toml, "priority = 10\n", "priority = 10" + campaign)
    return load_config(example_dir, env)


def _plan(cfg, *, tracking=TRACKED, with_campaign=True):
    sender = cfg.sender("anna.schmidt@example.com")
    campaign = cfg.campaign_for(sender.group.name, datetime.now(UTC)) if with_campaign else None
    variant = cfg.variant_for(campaign, "kim@customer.test") if campaign else None
    return build_plan(cfg, sender, campaign=campaign, variant=variant, tracking=tracking)


def test_campaign_parameters_over_the_groups_placeholders_filled(example_dir, edit, env):
    cfg = _config(example_dir, edit, env, group=GROUP_UTM, campaign=CAMPAIGN_UTM)
    plan = _plan(cfg)
    tagged = plan.tag_link("https://www.example.com/offer")
    target = tagged.removeprefix("http://127.0.0.1:8080/c/")
    assert target.startswith("https://www.example.com/offer?utm_source=email&utm_medium=banner")
    assert "utm_content=sales" in target
    assert "utm_campaign=spring-launch-a" in target or "utm_campaign=spring-launch-b" in target
    # A link that has its own attribution keeps it, whole.
    own = "https://www.example.com/fair?utm_campaign=fair"
    assert plan.tag_link(own) == "http://127.0.0.1:8080/c/" + own


def test_no_campaign_drops_what_names_it_and_untracked_copies_get_none(example_dir, edit, env):
    cfg = _config(example_dir, edit, env, group=GROUP_UTM + "", campaign=CAMPAIGN_UTM)
    without = _plan(cfg, with_campaign=False)
    target = without.tag_link("https://www.example.com/").removeprefix("http://127.0.0.1:8080/c/")
    assert "utm_campaign" not in target and "utm_medium=signature" in target
    assert _plan(cfg, tracking=Tracking.untracked()).tag_link is None


@pytest.mark.parametrize(
    ("utm", "reason"),
    [
        ('{ utm_sorce = "email" }', "unknown UTM parameter 'utm_sorce'"),
        ('{ utm_source = "{sender}" }', "may name {campaign}"),
        ('{ utm_source = " " }', "utm_source is empty"),
    ],
)
def test_bad_utm_settings_are_refused_naming_the_field(example_dir, edit, env, utm, reason):
    with pytest.raises(ConfigError) as caught:
        _config(example_dir, edit, env, group=f"\nutm = {utm}\n")
    assert "groups[0].utm" in caught.value.message and reason in caught.value.message
