"""`[[signature_variants]]`: a group's templates replaced for a time, by priority."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from config import ConfigErrors, build_plan, load_config
from config.check import check, is_warning

VARIANTS = """
[[groups]]
name = "default"
signature_html = "sig.html"
signature_text = "sig.txt"
reply_html = "reply.html"

[[signature_variants]]
id = "holidays"
groups = ["default"]
start = 2026-12-20T00:00:00+01:00
end = 2027-01-06T00:00:00+01:00
signature_html = "xmas.html"
signature_text = "xmas.txt"

[[signature_variants]]
id = "new-year"
groups = ["default"]
start = 2026-12-31T00:00:00+01:00
end = 2027-01-02T00:00:00+01:00
priority = 5
signature_html = "newyear.html"
signature_text = "newyear.txt"
reply_html = "newyear-reply.html"
"""
TEMPLATES = {
    "reply.html": "<i>{{ name }}</i>",
    "xmas.html": "<b>{{ name }}</b> Happy holidays",
    "xmas.txt": "{{ name }} -- Happy holidays",
    "newyear.html": "<b>{{ name }}</b> Happy new year",
    "newyear.txt": "{{ name }} -- Happy new year",
    "newyear-reply.html": "<i>{{ name }}</i> HNY",
}
ANNA = "anna.schmidt@example.com"


@pytest.fixture
def cfg(make_config, env):
    return load_config(make_config(VARIANTS, templates=TEMPLATES), env)


def _at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def test_before_and_after_the_schedule_the_group_templates_apply(cfg):
    for day in ("2026-12-19T12:00", "2027-01-06T12:00"):
        signature = cfg.signature_for(cfg.sender(ANNA), now=_at(day))
        assert signature.html == "<b>Anna Schmidt</b>", day


def test_during_the_holidays_the_variant_replaces_both_parts(cfg):
    sender = cfg.sender(ANNA)
    signature = cfg.signature_for(sender, now=_at("2026-12-24T09:00"))
    assert (signature.html, signature.text) == (
        "<b>Anna Schmidt</b> Happy holidays",
        "Anna Schmidt -- Happy holidays",
    )
    # No reply templates of its own: the group's short reply, as before.
    assert (
        cfg.reply_signature_for(sender, now=_at("2026-12-24T09:00")).html == "<i>Anna Schmidt</i>"
    )


def test_the_higher_priority_variant_wins_where_they_overlap(cfg):
    sender = cfg.sender(ANNA)
    now = _at("2026-12-31T10:00")
    assert cfg.signature_for(sender, now=now).html.endswith("Happy new year")
    assert cfg.reply_signature_for(sender, now=now).html == "<i>Anna Schmidt</i> HNY"


def test_build_plan_chooses_by_the_received_time(cfg):
    plan = build_plan(
        cfg,
        cfg.sender(ANNA),
        campaign=None,
        variant=None,
        tracking=None,
        received_at=_at("2026-12-22T08:00"),
    )
    assert plan.signature.html.endswith("Happy holidays")


def test_a_variant_naming_an_unknown_group_or_template_is_refused(make_config, env):
    toml = VARIANTS.replace(
        'groups = ["default"]\nstart = 2026-12-20', 'groups = ["sales"]\nstart = 2026-12-20'
    )
    with pytest.raises(ConfigErrors) as raised:
        load_config(make_config(toml, templates={"reply.html": "x"}), env)
    text = str(raised.value)
    assert "signature_variants[0].groups[0]" in text and "no group named 'sales'" in text
    assert "'xmas.html' not found" in text


def test_a_variant_that_ends_before_it_starts_is_refused(make_config, env):
    toml = VARIANTS.replace("end = 2027-01-06T00:00:00+01:00", "end = 2026-12-01T00:00:00+01:00")
    with pytest.raises(ConfigErrors, match="must be after start"):
        load_config(make_config(toml, templates=TEMPLATES), env)


def test_check_renders_each_variant_for_every_employee(make_config, env):
    templates = TEMPLATES | {"xmas.html": "{{ (name|length) / 0 }}"}
    problems = check(make_config(VARIANTS, templates=templates), env)
    errors = [str(p) for p in problems if not is_warning(p)]
    assert any("rendering for anna.schmidt@example.com failed" in e for e in errors), problems
