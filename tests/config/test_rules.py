"""Which group a sender lands in: rules in TOML order, first match wins, a default."""

from __future__ import annotations

import pytest

from config import load_config

GROUP = """
[[groups]]
name = "{name}"
signature_html = "sig.html"
signature_text = "sig.txt"
{extra}
"""

EMPLOYEES = """email,name,department,aliases
anna.schmidt@example.com,Anna Schmidt,Sales,Anna@Shop.Example.com
ben.mueller@example.com,Ben Müller,Engineering,
"""


def groups(*specs: tuple[str, str]) -> str:
    return "".join(GROUP.format(name=name, extra=extra) for name, extra in specs)


@pytest.fixture
def rules_config(make_config, env):
    def load(*specs: tuple[str, str]):
        return load_config(make_config(groups(*specs), employees=EMPLOYEES), env)

    return load


def test_department_rule_matches_the_employee_department(rules_config):
    cfg = rules_config(("sales", 'match = [{ department = "sales" }]'), ("staff", ""))
    assert cfg.sender("anna.schmidt@example.com").group.name == "sales"
    assert cfg.sender("ben.mueller@example.com").group.name == "staff"


def test_address_glob_matches_case_insensitively(rules_config):
    cfg = rules_config(("sales", 'match = [{ address = "Sales-*@example.com" }]'), ("staff", ""))
    assert cfg.sender("SALES-Bob@Example.com").group.name == "sales"
    assert cfg.sender("bob-sales@example.com").group.name == "staff"


def test_domain_rule_matches_only_that_domain(rules_config):
    cfg = rules_config(("shop", 'match = [{ domain = "shop.example.com" }]'), ("staff", ""))
    assert cfg.sender("x@shop.example.com").group.name == "shop"
    assert cfg.sender("x@example.com").group.name == "staff"


def test_first_matching_group_wins(rules_config):
    cfg = rules_config(
        ("first", 'match = [{ domain = "example.com" }]'),
        ("second", 'match = [{ department = "Sales" }]'),
        ("staff", ""),
    )
    assert cfg.sender("anna.schmidt@example.com").group.name == "first"


def test_group_named_default_catches_the_rest_wherever_it_stands(rules_config):
    cfg = rules_config(
        ("default", 'match = [{ domain = "never.test" }]'),
        ("other", ""),
    )
    assert cfg.sender("nobody@elsewhere.test").group.name == "default"


def test_without_a_group_named_default_the_last_group_without_rules_is_default(rules_config):
    cfg = rules_config(
        ("early", ""),
        ("sales", 'match = [{ department = "Sales" }]'),
        ("late", ""),
    )
    assert cfg.sender("nobody@elsewhere.test").group.name == "late"


def test_sender_found_by_alias_regardless_of_case(rules_config):
    cfg = rules_config(("sales", 'match = [{ department = "Sales" }]'), ("staff", ""))
    sender = cfg.sender("<anna@shop.EXAMPLE.com>")
    assert sender.employee is not None
    assert sender.employee.email == "anna.schmidt@example.com"
    assert sender.group.name == "sales"


def test_unknown_sender_has_no_employee(rules_config):
    cfg = rules_config(("staff", ""))
    sender = cfg.sender("stranger@example.com")
    assert (sender.address, sender.employee) == ("stranger@example.com", None)


def test_example_senders_land_in_their_groups(example):
    assert example.sender("anna.schmidt@example.com").group.name == "sales"
    assert example.sender("sales-team@example.com").group.name == "sales"
    assert example.sender("ben.mueller@example.com").group.name == "staff"


def test_internal_domains_include_their_subdomains(example):
    assert example.is_internal("x@example.com")
    assert example.is_internal("X@Mail.Example.COM")
    assert not example.is_internal("x@notexample.com")
    assert not example.is_internal("x@example.com.evil.test")
