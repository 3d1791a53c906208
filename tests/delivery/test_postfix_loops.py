"""Loops (issue 19): the relay in the loop of a mail system that routes mail to
it and takes it back (Microsoft 365's outbound and inbound connectors, Google's
outbound gateway), played by a private Postfix "tenant" (loopback, no DNS).

The tenant's rule that sends mail to the relay has one exception: mail that
carries our processed header (X-Sigrelay-Processed) goes out to the world
instead. Postfix spells that exception as a header_checks FILTER, Microsoft 365
as "except if the message header X-Sigrelay-Processed includes any value".
"""

from __future__ import annotations

import asyncio
import smtplib

from click.testing import CliRunner
from relayclient import smtp_send

from config import EXAMPLE_DIR, load_config
from config.errors import ConfigError
from sigrelay.cli import main
from smtpsink import SmtpSink

SALES = "anna.schmidt@example.com"
KIM = "kim@customer.test"
OFFER = (
    f"From: {SALES}\r\nTo: {KIM}\r\nSubject: Our offer\r\nMessage-ID: <loop-1@example.com>\r\n"
    "Content-Type: text/html; charset=utf-8\r\n\r\n<p>Hello Kim, our offer.</p>\r\n"
).encode()
SIGNATURE_LINE = b"Key Account Manager"  # Anna's title, once per signature


def tenant_settings(internet_port: int) -> tuple[dict[str, str], dict[str, str]]:
    """main.cf and files of a tenant that routes every message through the relay
    (relayhost: the outbound connector) unless the relay has processed it."""
    checks = f"/^X-Sigrelay-Processed:/ FILTER relay:[127.0.0.1]:{internet_port}\n"
    return (
        {"header_checks": "regexp:$config_directory/header_checks"},
        {"header_checks": checks},
    )


async def test_the_tenant_loop_signs_once_and_sends_the_message_out_once(
    start_relay, postfix, sink: SmtpSink, relay_env: dict[str, str]
):
    relay_port = int(relay_env["SIGRELAY_RELAY__LISTEN"].rsplit(":", 1)[1])
    extra, files = tenant_settings(sink.port)
    tenant = postfix(relayhost=f"127.0.0.1:{relay_port}", extra=extra, files=files)
    await start_relay(SIGRELAY_UPSTREAM__URL=f"smtp://127.0.0.1:{tenant.port}")

    def submit() -> None:  # Outlook on the web, as far as the tenant can tell
        with smtplib.SMTP("127.0.0.1", tenant.port, timeout=10) as smtp:
            smtp.sendmail(SALES, [KIM], OFFER)

    await asyncio.to_thread(submit)
    (copy,) = await sink.handler.wait_for(1, timeout=30)

    assert copy.rcpt_tos == (KIM,)
    assert copy.data.count(b"X-Sigrelay-Processed:") == 1
    assert copy.data.count(SIGNATURE_LINE) == 1
    assert copy.data.count(b"(sigrelay)") == 1, "through the relay once"
    assert len(sink.handler.received) == 1


async def test_a_message_passed_through_the_relay_twice_gets_one_signature(start_relay, postfix):
    upstream = postfix()
    relay = await start_relay(SIGRELAY_UPSTREAM__URL=f"smtp://127.0.0.1:{upstream.port}")

    await smtp_send(relay.address[1], SALES, [KIM], OFFER)
    (once,) = await upstream.wait_delivered(1)
    await smtp_send(relay.address[1], SALES, [KIM], once)
    _, twice = await upstream.wait_delivered(2)

    assert once.count(SIGNATURE_LINE) == 1
    assert twice.count(SIGNATURE_LINE) == 1, "no second signature"
    assert twice.count(b"X-Sigrelay-Processed:") == 1
    assert twice.count(b"(sigrelay)") == 2, "it did pass twice"


def test_an_upstream_that_is_the_relays_own_listener_is_refused(tmp_path):
    env = {
        "SIGRELAY_DATA": str(tmp_path / "data"),
        "SIGRELAY_RELAY__LISTEN": "0.0.0.0:2525",
        "SIGRELAY_UPSTREAM__URL": "smtp://localhost:2525",
    }
    result = CliRunner().invoke(main, ["check", "--config", str(EXAMPLE_DIR)], env=env)

    assert result.exit_code == 1
    assert "upstream.url" in result.output and "own listener 0.0.0.0:2525" in result.output
    try:
        load_config(EXAMPLE_DIR, env)
    except ConfigError as error:
        assert "round and round" in str(error), "serve refuses to start as well"
    else:
        raise AssertionError("the configuration loaded")


def test_an_upstream_on_another_port_of_this_host_is_fine(tmp_path):
    env = {
        "SIGRELAY_DATA": str(tmp_path / "data"),
        "SIGRELAY_RELAY__LISTEN": "127.0.0.1:2525",
        "SIGRELAY_UPSTREAM__URL": "smtp://127.0.0.1:10025",
    }
    assert load_config(EXAMPLE_DIR, env).upstream.url == "smtp://127.0.0.1:10025"
