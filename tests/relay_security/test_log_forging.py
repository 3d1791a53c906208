"""Issue 14, finding 4: client-supplied values cannot forge log lines.

A user name with CR LF used to write a forged `auth-ok` line, and forged
`auth-failed client=<any address>` lines that fail2ban would ban. Each client
field below carries CR, LF, NUL and an ANSI escape; every log record must
stay one line, and the only `auth-failed` client fail2ban can read is the
real one.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
import smtplib
from pathlib import Path

import pytest
from securerelay import ANNA, ANNA_PASSWORD

from config.logfields import quoted
from config.schema import ListenerMode
from sigrelay.logsetup import OneLineFormatter, line_formatter

FORGED = (
    "\r\n2026-01-01T00:00:00 WARNING sigrelay.proxy.listeners auth-failed client=6.6.6.6 user=x"
)
HOSTILE = f"mallory\x00\x1b[2J{FORGED}"
README = Path(__file__).resolve().parents[2] / "README.md"


def readme_fail2ban_filters() -> list[re.Pattern[str]]:
    """The README's fail2ban `failregex` lines, <HOST> as fail2ban reads it."""
    text = README.read_text(encoding="utf-8")
    block = text.split("failregex = ", 1)[1].split("```", 1)[0]
    lines = [line.strip() for line in block.splitlines() if line.strip()]
    return [re.compile(line.replace("<HOST>", r"(?P<host>[0-9a-fA-F.:]+)")) for line in lines]


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _hostile_session(port: int) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo("helo\x1b[31m.example")
        # AUTH LOGIN carries NUL in the user name; AUTH PLAIN would split on it.
        client.docmd("AUTH", "LOGIN " + _b64(HOSTILE))
        assert client.docmd(_b64("wrong"))[0] == 535
        assert client.docmd("AUTH", "PLAIN " + _b64(f"\0{FORGED}\0wrong"))[0] == 535
        blob = _b64(f"\0{ANNA}\0{ANNA_PASSWORD}")
        assert client.docmd("AUTH", "PLAIN " + blob)[0] == 235
        # Another sender than the authenticated one: refused and logged with from=.
        # aiosmtpd refuses an ESC outside quotes itself (501, nothing logged);
        # quoted, ESC, NUL and spaces reach our sender check, which logs from=.
        assert client.docmd("MAIL", 'FROM:<"ceo\x1b[0m x=1"\x00@example.com>')[0] >= 500
        # Refused (by aiosmtpd or by us); if it is logged, it is escaped like the rest.
        assert client.docmd("RCPT", 'TO:<"x\x1b[1m\x00 y@evil"@customer.test>')[0] >= 500


@pytest.fixture
def relay_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="sigrelay")
    return caplog


async def test_client_fields_cannot_forge_log_lines(secure_relay, relay_log):
    relay = await secure_relay(SIGRELAY_RELAY__AUTH_ON_LOOPBACK_WITHOUT_TLS="true",
                               SIGRELAY_RELAY__AUTH_FAILURE_DELAY="0")  # fmt: skip
    await asyncio.to_thread(_hostile_session, relay.ports[ListenerMode.SUBMISSION])

    records = [r for r in relay_log.records if r.name.startswith("sigrelay")]
    messages = [r.getMessage() for r in records]
    # Escaped where it was logged, not only by the formatter's backstop.
    assert all(not re.search("[\x00-\x1f\x7f]", m) for m in messages), messages
    # As the service writes them (sigrelay/logsetup.py): time level logger message.
    lines = [line_formatter().format(r) for r in records]
    written = "\n".join(lines)
    assert len(written.splitlines()) == len(records)
    failed = [line for line in lines if "auth-failed" in line]
    assert len(failed) == 2, failed
    # What fail2ban would ban with the README's filter: the real client, twice.
    # (A filter starting `^.*` would find the forged 6.6.6.6 inside the quoted name.)
    banned = [m.group("host") for f in readme_fail2ban_filters() for m in map(f.search, lines) if m]
    assert banned == ["127.0.0.1", "127.0.0.1"]
    assert not any(line.split(" ", 3)[3].startswith("2026-") for line in lines)
    auth_ok = [line.split(" ", 1)[1] for line in lines if "auth-ok" in line]
    assert auth_ok == [
        f"INFO sigrelay.proxy.listeners auth-ok client=127.0.0.1 user={ANNA} address={ANNA}"
    ]
    # The escapes are there to read, each field one quoted token.
    assert "\\0\\x1b[2J\\r\\n2026-01-01T00:00:00" in written
    assert 'from="<\\"ceo\\x1b[0m x=1\\0\\"@example.com>"' in written


def test_quoted_makes_each_value_one_token_on_one_line():
    assert quoted("anna@example.com") == "anna@example.com"
    assert quoted("a\r\nb") == "a\\r\\nb"
    assert quoted("a\x00\x1b[31m\x7f\x85\u2028") == "a\\0\\x1b[31m\\x7f\\x85\\u2028"
    assert quoted(b"x\xff@y".decode("utf-8", "surrogateescape")) == "x\\udcff@y"
    assert quoted("x client=6.6.6.6") == '"x client=6.6.6.6"'
    assert quoted('say "hi"') == '"say \\"hi\\""'
    assert quoted("") == '""'
    # A backslash the client typed cannot pass for an escape we wrote.
    assert quoted("a\\nb") == "a\\\\nb"


def test_the_formatter_keeps_a_missed_value_on_one_line():
    record = logging.LogRecord(
        "sigrelay.x", logging.INFO, __file__, 1, "user=%s", ("a\nb\rc",), None
    )
    assert OneLineFormatter("%(message)s").format(record) == "user=a\\nb\\rc"
