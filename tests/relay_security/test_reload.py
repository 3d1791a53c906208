"""A reload reaches a running relay: sender checks, trusted networks and limits
follow the directory and the TOML without a restart (config/running.py)."""

from __future__ import annotations

from pathlib import Path

from securerelay import ANNA, ANNA_PASSWORD
from swaks import swaks

from config.schema import ListenerMode
from config.watch import ConfigWatcher
from mailparts import body_text
from smtpsink import SmtpSink

SUBMISSION, PLAIN = ListenerMode.SUBMISSION, ListenerMode.PLAIN
NEW_ALIAS = "anna.sales@example.com"
CUSTOMER = "kim@customer.test"
AS_ANNA = ["--tls", "--auth", "PLAIN", "--auth-user", ANNA, "--auth-password", ANNA_PASSWORD]


def _send_as_new_alias(port: int):
    return swaks(
        port, *AS_ANNA, "--from", NEW_ALIAS, "--to", CUSTOMER,
        "--header", f"From: Anna <{NEW_ALIAS}>",
    )  # fmt: skip


async def test_an_alias_added_to_the_directory_is_accepted_and_signed_after_reload(
    secure_relay, sink: SmtpSink, config_dir: Path
):
    relay = await secure_relay()
    port = relay.ports[SUBMISSION]
    before = await _send_as_new_alias(port)
    assert not before.delivered and before.server_said("550 5.7.1"), before.transcript

    watcher = ConfigWatcher(relay.relay.running, env=relay.env)
    csv = config_dir / "employees.csv"
    aliases = f"sales-anna@example.com;{NEW_ALIAS}"
    csv.write_text(csv.read_text().replace("sales-anna@example.com", aliases))
    assert watcher.check(), watcher.last_errors

    after = await _send_as_new_alias(port)
    assert after.delivered, after.transcript
    (copy,) = await sink.handler.wait_for(1)
    assert copy.mail_from == NEW_ALIAS
    # Signed as Anna: the alias is hers, so her signature is under the text.
    assert "Key Account Manager" in body_text(copy.data, "plain")


async def test_trusted_networks_follow_a_reload_on_the_next_connection(
    secure_relay, sink: SmtpSink, config_dir: Path
):
    relay = await secure_relay()
    port = relay.ports[PLAIN]
    refused = await swaks(port, "--from", ANNA, "--to", CUSTOMER)
    assert refused.server_said("530"), refused.transcript

    env = relay.env | {"SIGRELAY_RELAY__TRUSTED_NETWORKS": "127.0.0.0/8"}
    watcher = ConfigWatcher(relay.relay.running, env=env)
    toml = config_dir / "sigrelay.toml"
    toml.write_text(toml.read_text() + "\n")  # a change for the watcher to see
    assert watcher.check(), watcher.last_errors

    accepted = await swaks(port, "--from", ANNA, "--to", CUSTOMER)
    assert accepted.delivered, accepted.transcript
