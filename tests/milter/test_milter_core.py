"""The milter's pure part (proxy/milter.py, proxy/milter_edits.py): a message as
the MTA hands it over in, the edits that make the relay's rewritten copy out."""

from __future__ import annotations

import base64
import email
import email.policy
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from config import EXAMPLE_DIR, load_config
from config.running import RunningConfig
from config.schema import PrivacyMode
from proxy.milter import MilterMessage, MilterRewriter
from proxy.milter_edits import edits_between, join_message, split_message
from proxy.planning import Planner
from rewriter import Outcome
from tracker.tokens import Keyring

KEYRING = Keyring({"t1": b"milter-tests-signing-key-bytes!!"}, current="t1")
SALES = "anna.schmidt@example.com"  # group sales: privacy personal
STAFF = "ben.mueller@example.com"  # group staff: privacy anonymous
KIM = "kim@customer.test"
HEADERS = (
    ("From", f"Anna <{SALES}>"),
    ("To", KIM),
    ("Subject", "Our offer"),
    ("Message-ID", "<m1@example.com>"),
)
ATTACHMENT = bytes(range(256)) * 8


def _multipart(sender: str = SALES) -> MilterMessage:
    encoded = base64.encodebytes(ATTACHMENT).replace(b"\n", b"\r\n")
    body = (
        b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello Kim,\r\n\r\nour offer.\r\n"
        b"--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
        b"Content-Disposition: attachment; filename=a.bin\r\n\r\n" + encoded + b"--b1--\r\n"
    )
    headers = (
        *HEADERS,
        ("MIME-Version", "1.0"),
        ("Content-Type", 'multipart/mixed;\n\tboundary="b1"'),  # folded, as Postfix sends it
    )
    return MilterMessage("4XyZ1", sender, (KIM,), headers, body)


@pytest.fixture
def rewriter(tmp_path: Path) -> MilterRewriter:
    cfg = load_config(EXAMPLE_DIR, {"SIGRELAY_DATA": str(tmp_path / "data")})
    clock = lambda: datetime(2025, 4, 1, 12, tzinfo=UTC)  # noqa: E731  (in the spring campaign)
    return MilterRewriter(Planner(RunningConfig(cfg), KEYRING), clock=clock)


def _apply(message: MilterMessage, rewriter: MilterRewriter) -> tuple[bytes, Outcome]:
    """The message as the MTA has it after our edits."""
    result = rewriter.process(message)
    fields = list(message.headers)
    for name, index, value in result.edits.changed:
        positions = [i for i, f in enumerate(fields) if f[0].lower() == name.lower()]
        if value:
            fields[positions[index - 1]] = (fields[positions[index - 1]][0], value)
        else:
            del fields[positions[index - 1]]
    fields += list(result.edits.added)
    body = message.body if result.edits.body is None else result.edits.body
    return join_message(fields, body), result.outcome


def test_a_multipart_message_is_signed_and_its_attachment_kept_byte_for_byte(rewriter):
    data, outcome = _apply(_multipart(), rewriter)
    assert outcome is Outcome.REWRITTEN
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert parsed["X-Sigrelay-Processed"]
    parts = list(parsed.walk())
    attachment = next(p for p in parts if p.get_filename() == "a.bin")
    assert attachment.get_payload(decode=True) == ATTACHMENT
    text = next(p for p in parts if p.get_content_type() == "text/plain")
    assert "Anna Schmidt" in text.get_content(), "the signature, in the text part"


def test_personal_mode_is_one_anonymous_tracked_copy_with_a_log_line_once(rewriter, caplog):
    message = MilterMessage(
        "Q1", SALES, (KIM, "lee@other.test"),
        (*HEADERS, ("Content-Type", "text/html; charset=utf-8")), b"<p>Hello</p>\r\n",
    )  # fmt: skip
    with caplog.at_level(logging.WARNING, "sigrelay.proxy.milter"):
        first = rewriter.process(message)
        rewriter.process(message)
    (record,) = first.records
    assert record.privacy == PrivacyMode.ANONYMOUS and record.recipients == 2
    assert record.recipient is None and record.domain is None, "nothing about the recipients"
    assert first.edits.body is not None and b"/o/" in first.edits.body, "tracking pixel"
    warnings = [r for r in caplog.records if "cannot make a copy per recipient" in r.message]
    assert len(warnings) == 1


def test_a_colleague_among_the_recipients_makes_the_one_copy_untracked(rewriter):
    message = MilterMessage(
        "Q2", STAFF, (KIM, "clara.weber@example.com"),
        (*HEADERS, ("Content-Type", "text/html; charset=utf-8")), b"<p>Hello</p>\r\n",
    )  # fmt: skip
    result = rewriter.process(message)
    assert result.outcome is Outcome.REWRITTEN and result.records == ()
    assert result.edits.body is not None and b"/o/" not in result.edits.body


def test_a_message_already_processed_gets_no_second_signature(rewriter):
    once, _ = _apply(_multipart(), rewriter)
    fields, body = split_message(once)
    again = rewriter.process(MilterMessage("Q3", SALES, (KIM,), tuple(fields), body))
    assert again.outcome is Outcome.SKIPPED and again.reason == "marker"
    assert again.edits.empty


def test_a_failure_leaves_the_message_as_it_came(tmp_path: Path):
    class BrokenPlanner(Planner):
        def render(self, entry, copy, allow_8bit=False):
            raise RuntimeError("a bug of ours")

    cfg = load_config(EXAMPLE_DIR, {"SIGRELAY_DATA": str(tmp_path / "data")})
    result = MilterRewriter(BrokenPlanner(RunningConfig(cfg), KEYRING)).process(_multipart())
    assert result.outcome is Outcome.FAILED and result.edits.empty


def test_edits_change_delete_and_add_only_what_differs():
    original = b"A: 1\r\nB: x\r\nB: y\r\nC: keep\r\n\r\nbody\r\n"
    rewritten = b"A: 2\r\nB: x\r\nC: keep\r\nD: new\r\n\r\nbody\r\n"
    edits = edits_between(original, rewritten)
    assert sorted(edits.changed) == [("A", 1, "2"), ("B", 2, "")]
    assert edits.added == (("D", "new"),) and edits.body is None


def test_mail_from_outside_the_company_passes_untouched(rewriter):
    message = MilterMessage("Q4", "someone@customer.test", (SALES,), HEADERS, b"Hello\r\n")
    result = rewriter.process(message)
    assert result.outcome is Outcome.SKIPPED and result.edits.empty
