"""Campaign targeting by recipients, follow-ups, fallbacks and banner delivery."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from config import ConfigErrors, Tracking, build_plan, load_config
from config.campaigns import Audience

from .conftest import ONE_GROUP

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
JUNE = datetime(2025, 6, 1, tzinfo=UTC)
COMPANY = '[company]\ninternal_domains = ["example.com"]\n'


def campaign(id: str, extra: str = "", *, scheduled: bool = True) -> str:
    window = "start = 2025-01-01T00:00:00Z\nend = 2025-12-31T00:00:00Z\n" if scheduled else ""
    return (
        f'[[campaigns]]\nid = "{id}"\ngroups = ["default"]\n{window}{extra}\n'
        '[[campaigns.variants]]\nid = "a"\nimage = "a.png"\n'
    )


@pytest.fixture
def load(make_config, env):
    def load(*campaigns: str):
        toml = COMPANY + ONE_GROUP + "".join(campaigns)
        return load_config(make_config(toml, banners={"a.png": PNG}), env)

    return load


def chosen(cfg, *recipients: str, clicked: frozenset[str] = frozenset()) -> str | None:
    found = cfg.campaign_for("default", JUNE, Audience(recipients, clicked))
    return found.id if found else None


def test_campaign_for_recipient_domains_shows_only_to_those_domains_and_subdomains(load):
    cfg = load(campaign("c", 'recipient_domains = ["customer.test"]'))
    assert chosen(cfg, "kim@customer.test") == "c"
    assert chosen(cfg, "kim@eu.customer.test") == "c"
    assert chosen(cfg, "lee@partner.test") is None


def test_campaign_for_recipient_addresses_matches_globs(load):
    cfg = load(campaign("c", 'recipient_addresses = ["buyer-*@partner.test"]'))
    assert chosen(cfg, "Buyer-1@partner.test") == "c"
    assert chosen(cfg, "lee@partner.test") is None


def test_copy_for_several_recipients_matches_only_when_all_of_them_do(load):
    cfg = load(campaign("c", 'recipient_domains = ["customer.test"]'))
    assert chosen(cfg, "kim@customer.test", "lee@partner.test") is None


def test_internal_and_external_scopes(load):
    cfg = load(
        campaign("inside", 'recipients = "internal"\npriority = 2'),
        campaign("outside", 'recipients = "external"\npriority = 1'),
    )
    assert chosen(cfg, "carla@example.com") == "inside"
    assert chosen(cfg, "kim@customer.test") == "outside"


def test_targeted_campaign_beats_general_one_by_priority_only(load):
    cfg = load(
        campaign("general"), campaign("vip", 'recipient_domains = ["vip.test"]\npriority = 5')
    )
    assert chosen(cfg, "boss@vip.test") == "vip"
    assert chosen(cfg, "kim@customer.test") == "general"


def test_follow_up_shows_only_to_recipients_who_clicked_the_first_campaign(load):
    cfg = load(campaign("first"), campaign("second", 'follow_up_of = "first"\npriority = 9'))
    assert chosen(cfg, "kim@customer.test", clicked=frozenset({"first"})) == "second"
    assert chosen(cfg, "kim@customer.test") == "first"


def test_follow_up_of_an_unknown_campaign_is_refused(make_config, env):
    toml = COMPANY + ONE_GROUP + campaign("c", 'follow_up_of = "nope"')
    with pytest.raises(ConfigErrors) as caught:
        load_config(make_config(toml, banners={"a.png": PNG}), env)
    assert [e.field for e in caught.value.errors] == ["campaigns[0].follow_up_of"]


def test_fallback_runs_when_no_scheduled_campaign_is_active(load):
    cfg = load(campaign("always", "fallback = true", scheduled=False), campaign("june"))
    assert chosen(cfg, "kim@customer.test") == "june"
    assert cfg.campaign_for("default", datetime(2026, 1, 1, tzinfo=UTC), Audience()).id == "always"


def test_campaign_without_schedule_must_be_a_fallback(make_config, env):
    toml = COMPANY + ONE_GROUP + campaign("c", scheduled=False)
    with pytest.raises(ConfigErrors) as caught:
        load_config(make_config(toml, banners={"a.png": PNG}), env)
    assert "fallback" in caught.value.errors[0].reason


def test_hosted_banner_is_an_image_url_from_the_tracker(load):
    cfg = load(campaign("c"))
    plan = _plan(cfg)
    assert plan.banner.image_url == "http://127.0.0.1:8080/b/tok"
    assert plan.inline_images == ()


def test_embedded_banner_travels_as_cid_image_without_tracker_url(load):
    cfg = load(campaign("c", 'delivery = "embedded"'))
    plan = _plan(cfg)
    (image,) = plan.inline_images
    assert plan.embed_images is True
    assert plan.banner.image_url == f"cid:{image.cid}"
    assert (image.data, image.content_type) == (PNG, "image/png")


def _plan(cfg):
    sender = cfg.sender("someone@example.com")
    found = cfg.campaign_for("default", JUNE)
    tracking = Tracking(banner_url="http://127.0.0.1:8080/b/tok")
    variant = cfg.variant_for(found, "kim@customer.test")
    return build_plan(cfg, sender, campaign=found, variant=variant, tracking=tracking)
