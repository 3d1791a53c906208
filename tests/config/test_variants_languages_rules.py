"""Scheduled signature variants together with languages and recipient rules
(issue 18): a variant speaks the group's languages, a recipient rule's own
templates win over it, and `check` covers every language x rule x variant."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from config import build_plan, load_config
from config.check import check, is_warning
from config.recipient_rules import rule_for

TOML = """
[company]
internal_domains = ["example.com"]

[[groups]]
name = "default"
signature_html = "sig.html"
signature_text = "sig.txt"
languages = ["de"]

[[groups.recipient_rules]]
recipient_domains = ["bank.test"]
disclaimer_html = "legal.html"
disclaimer_text = "legal.txt"

[[groups.recipient_rules]]
recipient_domains = ["press.test"]
signature_html = "short.html"
signature_text = "short.txt"

[[signature_variants]]
id = "holidays"
groups = ["default"]
start = 2026-12-20T00:00:00+01:00
end = 2027-01-06T00:00:00+01:00
signature_html = "xmas.html"
signature_text = "xmas.txt"
"""
TEMPLATES = {
    "sig.de.html": "<b>{{ name }}</b> Grüße",
    "sig.de.txt": "{{ name }} -- Grüße",
    "xmas.html": "<b>{{ name }}</b> Happy holidays",
    "xmas.txt": "{{ name }} -- Happy holidays",
    "xmas.de.html": "<b>{{ name }}</b> Frohe Feiertage",
    "xmas.de.txt": "{{ name }} -- Frohe Feiertage",
    "legal.html": "<p>Legal notice</p>",
    "legal.txt": "Legal notice",
    "legal.de.html": "<p>Rechtlicher Hinweis</p>",
    "legal.de.txt": "Rechtlicher Hinweis",
    "short.html": "<i>{{ name }}</i>",
    "short.txt": "{{ name }}.",
    "short.de.html": "<i>{{ name }}</i>",
    "short.de.txt": "{{ name }}.",
}
ANNA = "anna.schmidt@example.com"
HOLIDAYS = datetime(2026, 12, 24, 9, tzinfo=UTC)


@pytest.fixture
def cfg(make_config, env):
    return load_config(make_config(TOML, templates=TEMPLATES), env)


def test_the_active_variant_is_rendered_in_the_copys_language(cfg):
    sender = cfg.sender(ANNA)
    assert cfg.signature_for(sender, "de", now=HOLIDAYS).text == "Anna Schmidt -- Frohe Feiertage"
    assert cfg.signature_for(sender, "en", now=HOLIDAYS).text == "Anna Schmidt -- Happy holidays"
    assert cfg.signature_for(sender, "de").text == "Anna Schmidt -- Grüße"


def test_a_rule_disclaimer_goes_under_the_variant_signature(cfg):
    sender = cfg.sender(ANNA)
    rule = rule_for(sender.group, "x@bank.test", cfg.is_internal)
    german = cfg.signature_for(sender, "de", rule, now=HOLIDAYS)
    assert german.html == "<b>Anna Schmidt</b> Frohe Feiertage<p>Rechtlicher Hinweis</p>"


def test_a_rules_own_templates_win_over_the_variant(cfg):
    sender = cfg.sender(ANNA)
    rule = rule_for(sender.group, "editor@press.test", cfg.is_internal)
    assert cfg.signature_for(sender, "en", rule, now=HOLIDAYS).html == "<i>Anna Schmidt</i>"


def test_build_plan_takes_language_rule_and_received_time_together(cfg):
    sender = cfg.sender(ANNA)
    rule = rule_for(sender.group, "x@bank.test", cfg.is_internal)
    plan = build_plan(
        cfg, sender, campaign=None, variant=None, tracking=None,
        language="de", rule=rule, received_at=HOLIDAYS,
    )  # fmt: skip
    assert plan.signature.text == "Anna Schmidt -- Frohe Feiertage\n\nRechtlicher Hinweis"


def test_check_reports_a_variants_missing_language_file(make_config, env):
    templates = {k: v for k, v in TEMPLATES.items() if k != "xmas.de.txt"}
    problems = [p for p in check(make_config(TOML, templates=templates), env) if "xmas" in str(p)]
    assert len(problems) == 1, problems
    assert "language 'de' is missing" in problems[0].message


def test_check_renders_the_variant_in_every_language(make_config, env):
    templates = TEMPLATES | {"xmas.de.html": "{{ (name|length) / 0 }}"}
    problems = check(make_config(TOML, templates=templates), env)
    errors = [str(p) for p in problems if not is_warning(p)]
    assert any("rendering for anna.schmidt@example.com failed" in e for e in errors), problems
