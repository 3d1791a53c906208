"""Interest topics in the config: which clicks count for a topic, and campaigns
targeting recipients by the topics of their profile (tracker/store/interests.py)."""

from __future__ import annotations

import pytest

from config import ConfigErrors, load_config
from config.campaigns import Audience, targeted_topics
from tracker.store.interests import interest_rules

from .conftest import ONE_GROUP
from .test_campaign_targeting import COMPANY, JUNE, PNG, campaign

TOPICS = """
[[topics]]
name = "pumps"
links = ["https://www.example.com/pumps/"]
[[topics]]
name = "service"
domains = ["service.example.com"]
"""
CONSENT = "[privacy]\nrequire_consent = true\n"


@pytest.fixture
def load(make_config, env):
    def load(*parts: str):
        toml = COMPANY + ONE_GROUP + "".join(parts)
        return load_config(make_config(toml, banners={"a.png": PNG}), env)

    return load


def chosen(cfg, topics: frozenset[str]) -> str | None:
    found = cfg.campaign_for("default", JUNE, Audience(("kim@customer.test",), topics=topics))
    return found.id if found else None


def test_campaign_with_target_topics_shows_only_to_recipients_interested_in_one(load):
    cfg = load(
        campaign("general"),
        campaign("pumps-offer", 'target_topics = ["pumps", "service"]\npriority = 9'),
        TOPICS,
    )
    assert chosen(cfg, frozenset({"pumps"})) == "pumps-offer"
    assert chosen(cfg, frozenset({"service", "other"})) == "pumps-offer"
    assert chosen(cfg, frozenset({"other"})) == "general"
    assert chosen(cfg, frozenset()) == "general"
    assert targeted_topics(cfg.campaigns) == {"pumps", "service"}


def test_target_topics_naming_no_topic_are_refused(load):
    with pytest.raises(ConfigErrors) as caught:
        load(campaign("c", 'target_topics = ["pumsp"]'), TOPICS)
    assert [e.field for e in caught.value.errors] == ["campaigns[0].target_topics[0]"]
    assert "pumsp" in caught.value.errors[0].reason


def test_a_topic_a_banner_variant_lists_can_be_targeted(load):
    variant = '[[campaigns.variants]]\nid = "b"\nimage = "a.png"\ntopics = ["boilers"]\n'
    cfg = load(campaign("c") + variant, campaign("d", 'target_topics = ["boilers"]'))
    assert [c.id for c in cfg.campaigns] == ["c", "d"]


def test_no_rules_without_required_consent(load):
    assert interest_rules(load(TOPICS)) is None


def test_no_rules_without_topics(load):
    assert interest_rules(load(CONSENT, campaign("c"))) is None


def test_a_link_prefix_counts_at_a_path_or_query_boundary_only(load):
    rules = interest_rules(load(CONSENT, TOPICS))
    assert rules is not None
    assert rules.topics_of("https://www.example.com/pumps", None, None) == {"pumps"}
    assert rules.topics_of("https://WWW.example.com/pumps/p100?x=1", None, None) == {"pumps"}
    assert rules.topics_of("https://www.example.com/pumpsale", None, None) == set()
    assert rules.topics_of("https://www.example.com/", None, None) == set()


def test_a_domain_counts_with_its_subdomains(load):
    rules = interest_rules(load(CONSENT, TOPICS))
    assert rules is not None
    assert rules.topics_of("https://service.example.com/book", None, None) == {"service"}
    assert rules.topics_of("https://eu.service.example.com:8443/", None, None) == {"service"}
    assert rules.topics_of("https://notservice.example.com/", None, None) == set()


def test_a_banner_click_counts_for_its_variant_topics_in_its_campaign_only(load):
    banner = (
        '[[campaigns]]\nid = "fair"\ngroups = ["default"]\nfallback = true\n'
        '[[campaigns.variants]]\nid = "a"\nimage = "a.png"\n'
        'link = "https://fair.example.com/"\ntopics = ["fairs", "pumps"]\n'
    )
    rules = interest_rules(load(CONSENT, banner))
    assert rules is not None
    # UTM parameters the relay adds to the link keep it the banner's.
    clicked = "https://fair.example.com?utm_source=mail"
    assert rules.topics_of(clicked, "fair", "a") == {"fairs", "pumps"}
    assert rules.topics_of(clicked, "fair", "b") == set()
    assert rules.topics_of(clicked, "other", "a") == set()
