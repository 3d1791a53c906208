"""Planning mail a person sends from a shared mailbox: the mailbox's group
plans the copies and renders them, recipient rules included (issue 18)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from config import load_config
from config.running import RunningConfig
from proxy.planning import Planner
from proxy.spool import Envelope, SpoolEntry
from rewriter import Outcome
from tracker.tokens import Keyring

KEYRING = Keyring({"t1": b"planning-tests-signing-key-bytes"}, current="t1")
ANNA, PRESS, KIM = "anna.schmidt@example.com", "ed@press.test", "kim@customer.test"
TOML = """
[[groups]]
name = "orders"
signature_html = "orders.html"
signature_text = "orders.txt"
match = [{ address = "orders@example.com" }]

[[groups.recipient_rules]]
recipient_addresses = ["*@press.test"]
add = "nothing"

[[groups]]
name = "default"
signature_html = "sig.html"
signature_text = "sig.txt"

[[shared_mailboxes]]
address = "orders@example.com"
members = ["anna.schmidt@example.com"]
"""
TEMPLATES = {
    "orders.html": "<b>Orders desk</b>",
    "orders.txt": "Orders desk",
    "sig.html": "<b>{{ name }}</b>",
    "sig.txt": "{{ name }}",
}
EMPLOYEES = "email,name,department\nanna.schmidt@example.com,Anna Schmidt,Sales\n"
MESSAGE = (
    b"From: Orders <orders@example.com>\r\nSender: <anna.schmidt@example.com>\r\n"
    b"To: ed@press.test, kim@customer.test\r\nSubject: Your order\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\nYour order is on its way.\r\n"
)


def _planner(tmp_path: Path) -> Planner:
    directory = tmp_path / "config"
    (directory / "templates").mkdir(parents=True)
    (directory / "sigrelay.toml").write_text(TOML, encoding="utf-8")
    (directory / "employees.csv").write_text(EMPLOYEES, encoding="utf-8")
    for name, text in TEMPLATES.items():
        (directory / "templates" / name).write_text(text, encoding="utf-8")
    cfg = load_config(directory, {"SIGRELAY_DATA": str(tmp_path / "data")})
    return Planner(RunningConfig(cfg), KEYRING)


def test_the_mailbox_groups_rules_apply_when_its_copies_are_rendered(tmp_path: Path):
    planner = _planner(tmp_path)
    entry = SpoolEntry("q1", Envelope(ANNA, (PRESS, KIM), datetime.now(UTC)), MESSAGE, None)
    state = planner.plan(entry)
    assert state.group == "orders"
    by_recipients = {copy.recipients: copy for copy in state.copies}
    press = planner.render(entry, by_recipients[(PRESS,)])
    assert (press.outcome, press.reason) == (Outcome.SKIPPED, "recipient-rule")
    assert press.message == MESSAGE
    customer = planner.render(entry, by_recipients[(KIM,)])
    assert customer.outcome is Outcome.REWRITTEN
    assert (
        "Orders desk" in customer.message.decode()
        and "Anna Schmidt" not in customer.message.decode()
    )
