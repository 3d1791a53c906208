"""Planning with recipient rules and languages (issue 18): a recipient whose rule
adds nothing gets the message as written, untracked and unrecorded; the copy's
language is fixed at planning and the copies differ by it."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from config import EXAMPLE_DIR, load_config
from config.running import RunningConfig
from proxy.planning import Planner
from proxy.spool import Envelope, SpoolEntry
from rewriter import Outcome
from tracker.tokens import Keyring

KEYRING = Keyring({"t1": b"planning-tests-signing-key-bytes"}, current="t1")
ANNA, PRESS, HANS, KIM = "anna.schmidt@example.com", "ed@press.test", "h@kunde.de", "k@c.test"
MESSAGE = (
    b"From: anna.schmidt@example.com\r\nTo: ed@press.test\r\nSubject: Offer\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\nHello, here is our offer.\r\n"
)
RULE = """    { address = "sales-*@example.com" },
]
[[groups.recipient_rules]]
recipient_addresses = ["*@press.test"]
add = "nothing"
"""


def _planner(tmp_path: Path) -> Planner:
    directory = tmp_path / "config"
    shutil.copytree(EXAMPLE_DIR, directory)
    toml = directory / "sigrelay.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace('    { address = "sales-*@example.com" },\n]\n', RULE, 1))
    cfg = load_config(directory, {"SIGRELAY_DATA": str(tmp_path / "data")})
    return Planner(RunningConfig(cfg), KEYRING)


def test_a_rule_that_adds_nothing_sends_the_original_untracked(tmp_path: Path):
    planner = _planner(tmp_path)
    envelope = Envelope(ANNA, (PRESS, HANS, KIM), datetime.now(UTC))
    entry = SpoolEntry("q1", envelope, MESSAGE, None)
    state = planner.plan(entry)
    by_recipients = {copy.recipients: copy for copy in state.copies}
    assert set(by_recipients) == {(PRESS,), (HANS,), (KIM,)}
    press = by_recipients[(PRESS,)]
    assert not press.tracked
    assert [r.recipient for r in planner.records(entry, state)] == [HANS, KIM]
    rendered = planner.render(entry, press)
    assert (rendered.outcome, rendered.reason) == (Outcome.SKIPPED, "recipient-rule")
    assert rendered.message == MESSAGE
    assert {c.recipients: c.language for c in state.copies} == {
        (PRESS,): "en",
        (HANS,): "de",
        (KIM,): "en",
    }
    german = planner.render(entry, by_recipients[(HANS,)]).message.decode()
    assert "Telefon:" in german


def test_the_same_message_planned_again_gets_the_same_copies_and_ids(tmp_path: Path):
    planner = _planner(tmp_path)
    envelope = Envelope(ANNA, (PRESS, HANS, KIM), datetime.now(UTC))
    entry = SpoolEntry("q2", envelope, MESSAGE, None)
    assert planner.plan(entry) == planner.plan(entry)
