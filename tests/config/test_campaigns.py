"""Campaign choice by group, time window and priority; deterministic weighted variants."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from config import load_config

from .conftest import ONE_GROUP

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
CAMPAIGN = """
[[campaigns]]
id = "{id}"
groups = {groups}
start = {start}
end = {end}
priority = {priority}
[[campaigns.variants]]
id = "a"
image = "a.png"
weight = 3
[[campaigns.variants]]
id = "b"
image = "b.png"
weight = 1
"""
OTHER_GROUP = ONE_GROUP.replace('"default"', '"other"') + 'match = [{ domain = "o.test" }]\n'


def campaign(
    id: str,
    *,
    groups: str = '["default"]',
    start: str = "2025-01-01T00:00:00Z",
    end: str = "2025-12-31T00:00:00Z",
    priority: int = 0,
) -> str:
    return CAMPAIGN.format(id=id, groups=groups, start=start, end=end, priority=priority)


@pytest.fixture
def with_campaigns(make_config, env):
    def load(*campaigns: str):
        toml = ONE_GROUP + OTHER_GROUP + "".join(campaigns)
        return load_config(make_config(toml, banners={"a.png": PNG, "b.png": PNG}), env)

    return load


JUNE = datetime(2025, 6, 1, tzinfo=UTC)


def test_campaign_is_active_from_start_until_just_before_end(with_campaigns):
    cfg = with_campaigns(campaign("c", start="2025-06-01T00:00:00Z", end="2025-07-01T00:00:00Z"))
    assert cfg.campaign_for("default", datetime(2025, 5, 31, 23, 59, tzinfo=UTC)) is None
    assert cfg.campaign_for("default", JUNE).id == "c"
    assert cfg.campaign_for("default", datetime(2025, 7, 1, tzinfo=UTC)) is None


def test_campaign_only_shows_for_the_groups_it_targets(with_campaigns):
    cfg = with_campaigns(campaign("c", groups='["other"]'))
    assert cfg.campaign_for("default", JUNE) is None
    assert cfg.campaign_for("other", JUNE).id == "c"


def test_highest_priority_wins_and_ties_go_to_the_first_listed(with_campaigns):
    cfg = with_campaigns(
        campaign("low", priority=1), campaign("high", priority=5), campaign("high2", priority=5)
    )
    assert cfg.campaign_for("default", JUNE).id == "high"


def test_campaign_time_must_be_timezone_aware(with_campaigns):
    cfg = with_campaigns(campaign("c"))
    with pytest.raises(ValueError, match="timezone"):
        cfg.campaign_for("default", datetime(2025, 6, 1))


def test_variant_is_the_same_for_the_same_recipient(with_campaigns):
    cfg = with_campaigns(campaign("c"))
    chosen = cfg.campaign_for("default", JUNE)
    first = [cfg.variant_for(chosen, f"r{i}@customer.test").id for i in range(50)]
    again = [cfg.variant_for(chosen, f"R{i}@Customer.TEST").id for i in range(50)]
    assert first == again


def test_variants_split_recipients_by_weight(with_campaigns):
    cfg = with_campaigns(campaign("c"))
    chosen = cfg.campaign_for("default", JUNE)
    counts = Counter(cfg.variant_for(chosen, f"r{i}@customer.test").id for i in range(8000))
    share_a = counts["a"] / 8000
    assert 0.72 < share_a < 0.78  # weights 3:1 → 75 %


def test_different_campaigns_split_the_same_recipients_independently(with_campaigns):
    cfg = with_campaigns(campaign("c1"), campaign("c2"))
    c1, c2 = cfg.campaign("c1"), cfg.campaign("c2")
    keys = [f"r{i}@customer.test" for i in range(400)]
    assert [cfg.variant_for(c1, k).id for k in keys] != [cfg.variant_for(c2, k).id for k in keys]


def test_banner_file_points_into_banners(with_campaigns):
    cfg = with_campaigns(campaign("c"))
    assert cfg.banner_file("c", "b") == cfg.config_dir / "banners" / "b.png"
    assert cfg.banner_file("c", "zzz") is None
    assert cfg.banner_file("nope", "a") is None


def test_example_campaign_has_two_banner_variants_linking_to_spring(example):
    chosen = example.campaign_for("sales", datetime.now(UTC))
    assert chosen is not None and chosen.id == "spring-launch"
    assert [v.id for v in chosen.variants] == ["a", "b"]
    for variant in chosen.variants:
        assert variant.link == "https://www.example.com/spring"
        assert example.banner_file(chosen.id, variant.id).read_bytes().startswith(b"\x89PNG")
