"""Languages and recipient rules (issue 18): which language and templates a
recipient gets, and what `check` says about missing language files."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from config import ConfigErrors, Tracking, build_plan, load_config
from config.check import check
from config.languages import domain_language, localized_name, recipient_language
from config.recipient_rules import rule_for
from config.schema import GroupSection
from config.schema_recipients import LanguagesSection, RecipientRuleSection

GROUP = GroupSection(
    name="sales", signature_html="s.html", signature_text="s.txt", language="en",
    languages=("de", "fr"),
)  # fmt: skip
DOMAINS = LanguagesSection(recipient_domains={".de": "de", "example.fr": "fr", ".es": "en"})
TRACKED = Tracking(pixel_url="http://t/o/x", banner_url="http://t/b/x", tag_link=lambda u: u)

RULES = """
[company]
internal_domains = ["example.com"]

[[groups]]
name = "default"
signature_html = "sig.html"
signature_text = "sig.txt"
languages = ["de"]

[[groups.recipient_rules]]
recipients = "internal"
add = "nothing"

[[groups.recipient_rules]]
recipient_domains = ["bank.test"]
add = "signature"
disclaimer_html = "legal.html"
disclaimer_text = "legal.txt"

[[groups.recipient_rules]]
recipient_addresses = ["*@press.*"]
signature_html = "short.html"
signature_text = "short.txt"
"""
RULE_TEMPLATES = {
    "sig.de.html": "<b>Grüße, {{ name }}</b>",
    "sig.de.txt": "Grüße, {{ name }}",
    "legal.html": "<p>Legal notice</p>",
    "legal.txt": "Legal notice",
    "legal.de.html": "<p>Rechtlicher Hinweis</p>",
    "legal.de.txt": "Rechtlicher Hinweis",
    "short.html": "<i>{{ name }}</i>",
    "short.txt": "{{ name }}.",
    "short.de.html": "<i>{{ name }}</i>",
    "short.de.txt": "{{ name }}.",
}


def test_localized_name_goes_before_the_extension():
    assert localized_name("sales.html", "de") == "sales.de.html"
    assert localized_name("sales-reply.txt", "fr") == "sales-reply.fr.txt"


def test_domain_map_takes_the_longest_fitting_key():
    domains = {".fr": "de", "example.fr": "fr"}
    assert domain_language(domains, "a@shop.example.fr") == "fr"
    assert domain_language(domains, "a@other.fr") == "de"
    assert domain_language(domains, "a@notexample.fr") == "de"  # not a subdomain
    assert domain_language(domains, "a@example.com") is None


def test_language_order_domain_then_detected_then_default():
    assert recipient_language(GROUP, DOMAINS, "a@kunde.de", detected="fr") == "de"
    assert recipient_language(GROUP, DOMAINS, "a@customer.test", detected="fr") == "fr"
    assert recipient_language(GROUP, DOMAINS, "a@customer.test", detected=None) == "en"


def test_a_language_the_group_does_not_write_falls_through():
    english_only = GroupSection(name="x", signature_html="s.html", signature_text="s.txt")
    assert recipient_language(english_only, DOMAINS, "a@kunde.de", detected="fr") == "en"
    detected_es = recipient_language(GROUP, DOMAINS, "a@client.example.fr", detected="es")
    assert detected_es == "fr"


def test_old_configs_with_language_de_stay_valid(make_config, env):
    toml = '[[groups]]\nname = "default"\nlanguage = "de"\n'
    cfg = load_config(
        make_config(toml + 'signature_html = "sig.html"\nsignature_text = "sig.txt"\n'), env
    )
    assert cfg.groups[0].language == "de" and cfg.groups[0].languages == ()


def test_an_unknown_language_is_a_config_error_naming_the_key(make_config, env):
    toml = '[[groups]]\nname = "default"\nlanguages = ["es"]\n'
    toml += 'signature_html = "sig.html"\nsignature_text = "sig.txt"\n'
    with pytest.raises(ConfigErrors) as raised:
        load_config(make_config(toml), env)
    assert "groups[0].languages" in str(raised.value)


def test_rules_match_like_campaigns_first_fit_wins(make_config, env):
    cfg = load_config(make_config(RULES, templates=RULE_TEMPLATES), env)
    group = cfg.groups[0]
    assert rule_for(group, "carla@example.com", cfg.is_internal).add == "nothing"
    assert rule_for(group, "x@branch.bank.test", cfg.is_internal).disclaimer_html == "legal.html"
    assert (
        rule_for(group, "editor@press.example.org", cfg.is_internal).signature_html == "short.html"
    )
    assert rule_for(group, "kim@customer.test", cfg.is_internal) is None


def test_a_rule_disclaimer_goes_under_the_signature_in_the_copys_language(make_config, env):
    cfg = load_config(make_config(RULES, templates=RULE_TEMPLATES), env)
    sender = cfg.sender("anna.schmidt@example.com")
    rule = rule_for(sender.group, "x@bank.test", cfg.is_internal)
    german = cfg.signature_for(sender, "de", rule)
    assert german.html == "<b>Grüße, Anna Schmidt</b><p>Rechtlicher Hinweis</p>"
    assert german.text == "Grüße, Anna Schmidt\n\nRechtlicher Hinweis"
    assert cfg.signature_for(sender, None, rule).text == "Anna Schmidt\n\nLegal notice"


def test_a_signature_only_rule_drops_the_banner(example):
    sender = example.sender("anna.schmidt@example.com")
    campaign = example.campaign_for(sender.group.name, datetime.now(UTC))
    variant = example.variant_for(campaign, "x")
    rule = RecipientRuleSection(add="signature")
    with_rule = build_plan(
        example, sender, campaign=campaign, variant=variant, tracking=TRACKED, rule=rule
    )
    without = build_plan(example, sender, campaign=campaign, variant=variant, tracking=TRACKED)
    assert with_rule.banner is None and without.banner is not None


def test_the_opt_out_line_and_link_follow_the_copys_language(example):
    sender = example.sender("anna.schmidt@example.com")
    plans = {
        language: build_plan(
            example, sender, campaign=None, variant=None, tracking=TRACKED,
            optout_url="http://t/u/tok", language=language,
        )
        for language in ("en", "de", "fr")
    }  # fmt: skip
    assert (
        "Phone:" in plans["en"].signature.text and "Tracking options" in plans["en"].signature.text
    )
    assert "Telefon:" in plans["de"].signature.text
    assert "Einstellungen zur Auswertung" in plans["de"].signature.text
    assert "Téléphone:" in plans["fr"].signature.text
    assert "Options de suivi de nos e-mails: http://t/u/tok?lang=fr" in plans["fr"].signature.text
    assert 'href="http://t/u/tok?lang=fr"' in plans["fr"].signature.html


def test_check_reports_a_language_template_referenced_but_missing(example_dir, env):
    assert [p for p in check(example_dir, env) if "language" in p.message] == []
    (example_dir / "templates" / "sales-reply.fr.txt").unlink()
    problems = [p for p in check(example_dir, env) if "sales-reply.fr.txt" in p.message]
    assert len(problems) == 1
    assert "language 'fr' is missing" in problems[0].message
    assert "groups.sales.languages" in problems[0].message


def test_a_missing_language_file_never_stops_mail_it_falls_back(example_dir, env):
    (example_dir / "templates" / "sales.fr.txt").unlink()
    cfg = load_config(example_dir, env)  # loads: mail goes out with what is there
    sender = cfg.sender("anna.schmidt@example.com")
    assert "Phone:" in cfg.signature_for(sender, "fr").text
    assert "Téléphone" in cfg.signature_for(sender, "fr").html


def test_the_message_is_read_only_when_the_domain_does_not_decide():
    reads: list[str] = []

    def detected() -> str:
        reads.append("read")
        return "fr"

    assert recipient_language(GROUP, DOMAINS, "a@kunde.de", detected) == "de"
    assert reads == []  # the domain decided: the costly reading was not done
    assert recipient_language(GROUP, DOMAINS, "a@customer.test", detected) == "fr"
    assert reads == ["read"]
