"""Shared mailboxes: whose signature mail From: info@ sent by a person gets,
and exactly which mailboxes a person may send as."""

from __future__ import annotations

import pytest

from config import load_config
from config.check import check, is_warning
from config.mailboxes import SharedMailboxes

EMPLOYEES = """email,name,department,aliases,members,send_as
anna.schmidt@example.com,Anna Schmidt,Sales,sales-anna@example.com,,orders@example.com
ben.mueller@example.com,Ben Mueller,Engineering,,,clara.weber@example.com
clara.weber@example.com,Clara Weber,Sales,,,
support@example.com,Support Team,Support,help@example.com,sales-anna@example.com,
"""
TOML = """
[[groups]]
name = "default"
signature_html = "sig.html"
signature_text = "sig.txt"
{option}

[[shared_mailboxes]]
address = "orders@example.com"

[[shared_mailboxes]]
address = "press@example.com"
members = ["clara.weber@example.com"]
"""
ANNA = "anna.schmidt@example.com"


@pytest.fixture
def load(make_config, env):
    def load_with(option: str = ""):
        return load_config(make_config(TOML.format(option=option), employees=EMPLOYEES), env)

    return load_with


def _granted(cfg, address: str) -> set[str]:
    employee = cfg.employees.find(address)
    own = frozenset({employee.email.lower(), *employee.aliases})
    return set(cfg.mailboxes.granted_to(own, employee))


def test_members_by_alias_and_send_as_grant_exactly_those_mailboxes(load):
    cfg = load()
    assert _granted(cfg, ANNA) == {
        "support@example.com",
        "help@example.com",
        "orders@example.com",
    }
    assert _granted(cfg, "clara.weber@example.com") == {"press@example.com"}


def test_send_as_naming_a_person_grants_nothing(load):
    assert _granted(load(), "ben.mueller@example.com") == set()


def test_a_directory_entry_without_members_is_not_shared(load):
    mailboxes = load().mailboxes
    assert mailboxes.is_shared("HELP@example.com") and mailboxes.is_shared("orders@example.com")
    assert not mailboxes.is_shared("clara.weber@example.com")
    assert SharedMailboxes(cfg_directory := load().employees, ()).is_shared("help@example.com")
    assert not SharedMailboxes(cfg_directory, ()).is_shared("orders@example.com")


def test_mail_from_the_mailbox_sent_by_a_person_gets_the_mailbox_signature(load):
    cfg = load()
    sender = cfg.message_sender(ANNA, "support@example.com", ANNA)
    assert sender.address == "support@example.com"
    assert cfg.signature_for(sender).text == "Support Team"


def test_a_group_may_choose_the_persons_signature_instead(load):
    cfg = load('shared_mailbox_signature = "sender"')
    # Sender: names the person; the envelope may be the mailbox (Outlook "send on behalf").
    sender = cfg.message_sender("support@example.com", "support@example.com", ANNA)
    assert cfg.signature_for(sender).text == "Anna Schmidt"
    # Without Sender:, the envelope names the person ("send as").
    assert cfg.message_sender(ANNA, "help@example.com").address == ANNA


def test_the_mailbox_sending_as_itself_and_ordinary_mail_keep_their_senders(load):
    cfg = load('shared_mailbox_signature = "sender"')
    itself = cfg.message_sender("support@example.com", "help@example.com")
    assert itself.employee.email == "support@example.com"
    assert cfg.message_sender(ANNA, "clara.weber@example.com", ANNA).address == ANNA
    assert cfg.message_sender(ANNA).address == ANNA


def test_check_warns_about_a_send_as_that_grants_nothing(make_config, env):
    problems = check(make_config(TOML.format(option=""), employees=EMPLOYEES), env)
    found = [str(p) for p in problems if "send_as of" in str(p)]
    assert all(is_warning(p) for p in problems if "send_as of" in str(p))
    assert len(found) == 1 and "ben.mueller@example.com" in found[0]
    assert "clara.weber@example.com is not a shared mailbox" in found[0]
