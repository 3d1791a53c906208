"""Delivery targets: a Maildir outbox and an SMTP server, with a reply per recipient."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings
from hypothesis import given, settings
from hypothesis import strategies as st
from relayclient import message

from config.schema import parse_upstream
from proxy.upstream import MaildirUpstream, SmtpUpstream, wire_form
from smtpsink import SinkHandler, SmtpSink

SENDER = "anna.schmidt@example.com"


def _smtp(sink: SmtpSink) -> SmtpUpstream:
    return SmtpUpstream(parse_upstream(sink.url), local_hostname="relay.test")


async def test_maildir_delivery_puts_one_complete_file_into_new(tmp_path: Path):
    outbox = MaildirUpstream(tmp_path / "outbox")
    data = message(SENDER)

    replies = await outbox.deliver(SENDER, ["kim@customer.test"], data)

    assert replies["kim@customer.test"].ok
    files = list((tmp_path / "outbox" / "new").iterdir())
    assert len(files) == 1
    assert list((tmp_path / "outbox" / "tmp").iterdir()) == []
    content = files[0].read_bytes()
    assert content.startswith(
        f"Return-Path: <{SENDER}>\r\nDelivered-To: kim@customer.test\r\n".encode()
    )
    assert content.endswith(data)


async def test_maildir_names_are_unique_for_copies_in_the_same_instant(tmp_path: Path):
    outbox = MaildirUpstream(tmp_path / "outbox")
    for _ in range(20):
        await outbox.deliver(SENDER, ["kim@customer.test"], message(SENDER))
    assert len(list((tmp_path / "outbox" / "new").iterdir())) == 20


async def test_maildir_delivers_a_keyed_copy_once_however_often_it_is_attempted(tmp_path: Path):
    # Issue 14, finding 10: a copy repeated after a crash must not be a second file.
    outbox = MaildirUpstream(tmp_path / "outbox")
    data = message(SENDER)

    first = await outbox.deliver(SENDER, ["kim@customer.test"], data, key="Q1.00aa")
    again = await MaildirUpstream(tmp_path / "outbox").deliver(
        SENDER, ["kim@customer.test"], data, key="Q1.00aa"
    )

    assert first["kim@customer.test"].ok and again["kim@customer.test"].ok
    assert "already delivered" in again["kim@customer.test"].text
    (file,) = (tmp_path / "outbox" / "new").iterdir()
    assert file.name.startswith("Q1.00aa.")
    assert list((tmp_path / "outbox" / "tmp").iterdir()) == []


async def test_maildir_finds_a_keyed_copy_a_reader_moved_into_cur(tmp_path: Path):
    outbox = MaildirUpstream(tmp_path / "outbox")
    await outbox.deliver(SENDER, ["kim@customer.test"], message(SENDER), key="Q1.00aa")
    (file,) = (tmp_path / "outbox" / "new").iterdir()
    file.rename(tmp_path / "outbox" / "cur" / f"{file.name}:2,S")  # what Dovecot does on reading

    await outbox.deliver(SENDER, ["kim@customer.test"], message(SENDER), key="Q1.00aa")

    assert list((tmp_path / "outbox" / "new").iterdir()) == []
    assert len(list((tmp_path / "outbox" / "cur").iterdir())) == 1


async def test_maildir_keyed_copies_of_one_message_are_separate_files(tmp_path: Path):
    outbox = MaildirUpstream(tmp_path / "outbox")
    for copy_id in ("00aa", "00bb"):
        await outbox.deliver(SENDER, ["kim@customer.test"], message(SENDER), key=f"Q1.{copy_id}")
    assert len(list((tmp_path / "outbox" / "new").iterdir())) == 2


async def test_maildir_delivers_despite_a_tmp_file_a_killed_relay_left_under_the_key(
    tmp_path: Path,
):
    outbox = MaildirUpstream(tmp_path / "outbox")
    await outbox.deliver(SENDER, ["kim@customer.test"], message(SENDER), key="Q0.0000")
    host = next((tmp_path / "outbox" / "new").iterdir()).name.removeprefix("Q0.0000.")
    left = tmp_path / "outbox" / "tmp" / f"Q1.00aa.{host}.P1Q0"
    left.write_bytes(b"half a mess")

    replies = await outbox.deliver(SENDER, ["kim@customer.test"], message(SENDER), key="Q1.00aa")

    assert "2.0.0 delivered" in str(replies["kim@customer.test"])
    assert (tmp_path / "outbox" / "new" / f"Q1.00aa.{host}").read_bytes().endswith(message(SENDER))


async def test_maildir_files_have_crlf_line_ends_only_like_the_wire(tmp_path: Path):
    # One form per file (README "Local outbox"): a bare LF or CR ends a line as on the wire.
    outbox = MaildirUpstream(tmp_path / "outbox")
    data = b"Subject: mixed\r\n\r\none\ntwo\rthree\r\n" + b"x" * 3000 + b"\r\n.dot"

    await outbox.deliver(SENDER, ["kim@customer.test"], data)

    (file,) = (tmp_path / "outbox" / "new").iterdir()
    content = file.read_bytes()
    assert content.endswith(b"\r\n\r\none\r\ntwo\r\nthree\r\n" + b"x" * 3000 + b"\r\n.dot\r\n")
    assert content.count(b"\n") == content.count(b"\r") == content.count(b"\r\n")


async def test_a_line_over_998_octets_reaches_the_smtp_upstream_as_it_is(sink: SmtpSink):
    # Untouched parts keep their long lines (RFC 5321 4.5.3.1); we do not fold them.
    upstream = _smtp(sink)
    data = message(SENDER) + b"y" * 5000 + b"\r\n"

    replies = await upstream.deliver(SENDER, ["kim@customer.test"], data)
    await upstream.close()

    assert replies["kim@customer.test"].ok, replies
    assert sink.handler.received[0].data == data


async def test_unwritable_maildir_is_a_temporary_failure(tmp_path: Path):
    (tmp_path / "outbox").write_text("a file where the maildir should be")
    replies = await MaildirUpstream(tmp_path / "outbox").deliver(SENDER, ["kim@customer.test"], b"")
    assert 400 <= replies["kim@customer.test"].code < 500


async def test_smtp_delivery_reaches_the_upstream_with_the_envelope(sink: SmtpSink):
    upstream = _smtp(sink)
    data = message(SENDER)

    replies = await upstream.deliver(SENDER, ["kim@customer.test", "lee@partner.test"], data)
    await upstream.close()

    assert all(reply.ok for reply in replies.values())
    (received,) = sink.handler.received
    assert received.mail_from == SENDER
    assert received.rcpt_tos == ("kim@customer.test", "lee@partner.test")
    assert received.data.replace(b"\r\n", b"\n") == data.replace(b"\r\n", b"\n")


async def test_smtp_replies_are_per_recipient_on_partial_acceptance(sink: SmtpSink):
    sink.handler.fail_with = {
        "gone@customer.test": "550 5.1.1 no such user",
        "busy@customer.test": "451 4.3.0 try later",
    }
    upstream = _smtp(sink)
    rcpts = ["kim@customer.test", "gone@customer.test", "busy@customer.test"]

    replies = await upstream.deliver(SENDER, rcpts, message(SENDER))
    await upstream.close()

    assert replies["kim@customer.test"].ok
    assert replies["gone@customer.test"].permanent
    assert replies["busy@customer.test"].code == 451
    assert [r.rcpt_tos for r in sink.handler.received] == [("kim@customer.test",)]


async def test_upstream_down_is_a_temporary_failure_for_every_recipient(unused_port: int):
    upstream = SmtpUpstream(
        parse_upstream(f"smtp://127.0.0.1:{unused_port}"), local_hostname="relay.test"
    )
    replies = await upstream.deliver(SENDER, ["kim@customer.test", "lee@partner.test"], b"x")
    assert {reply.code for reply in replies.values()} == {451}


class ConnectionCountingSink(SinkHandler):
    """Counts EHLOs: one per SMTP connection."""

    connections = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.connections += 1
        session.host_name = hostname
        return responses


async def test_connections_are_reused_across_messages(sink: SmtpSink):
    sink.handler = counting = ConnectionCountingSink()
    upstream = _smtp(sink)
    for i in range(5):
        replies = await upstream.deliver(SENDER, [f"r{i}@customer.test"], message(SENDER))
        assert replies[f"r{i}@customer.test"].ok
    await upstream.close()

    assert len(counting.received) == 5
    assert counting.connections == 1


class ClosingAfterOneSink(ConnectionCountingSink):
    """Takes one message per connection, then (as a server whose idle timeout ran
    out) refuses the next MAIL with 421 or drops the connection."""

    def __init__(self, how: str) -> None:
        super().__init__()
        self.how = how

    async def handle_MAIL(self, server, session, envelope, address, options):
        if getattr(session, "served", False):
            if self.how == "drop":
                server.transport.close()
            return "421 4.4.2 sink.test closing: idle too long"
        session.served = True
        envelope.mail_from = address
        return "250 OK"


@pytest.mark.parametrize("how", ["421", "drop"])
async def test_a_kept_connection_the_server_gave_up_is_replaced_without_failing_the_copy(
    sink: SmtpSink, how: str
):
    sink.handler = closing = ClosingAfterOneSink(how)
    upstream = _smtp(sink)
    for i in range(3):
        replies = await upstream.deliver(SENDER, [f"r{i}@customer.test"], message(SENDER))
        assert replies[f"r{i}@customer.test"].ok, replies
    await upstream.close()

    assert len(closing.received) == 3
    assert closing.connections == 3


@settings(max_examples=500)
@given(st.lists(st.sampled_from([b".", b"..", b"a", b"\r", b"\n", b"\r\n", b" .", b"x.y"])))
def test_wire_form_is_what_aiosmtplib_sends(pieces: list[bytes]):
    message = b"".join(pieces)
    expected = PERIOD_REGEX.sub(b"..", normalize_message_line_endings(message)) + b".\r\n"
    assert wire_form(message) == expected
