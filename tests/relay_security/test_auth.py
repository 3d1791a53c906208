"""AUTH PLAIN and LOGIN: only over TLS, checked against the users file, throttled."""

from __future__ import annotations

import asyncio
import base64
import smtplib
import ssl
from concurrent.futures import ThreadPoolExecutor

import pytest
from securerelay import ANNA, ANNA_PASSWORD
from swaks import swaks

from config.schema import ListenerMode
from smtpsink import SmtpSink

SUBMISSION, SMTPS, PLAIN = ListenerMode.SUBMISSION, ListenerMode.SMTPS, ListenerMode.PLAIN
CUSTOMER = "kim@customer.test"


def _auth(user: str = ANNA, password: str = ANNA_PASSWORD, mechanism: str = "PLAIN") -> list[str]:
    return ["--auth", mechanism, "--auth-user", user, "--auth-password", password]


async def test_submission_accepts_auth_plain_after_starttls(secure_relay, sink: SmtpSink):
    relay = await secure_relay()
    run = await swaks(relay.ports[SUBMISSION], "--tls", *_auth(), "--from", ANNA, "--to", CUSTOMER)
    assert run.delivered, run.transcript
    (copy,) = await sink.handler.wait_for(1)
    assert copy.rcpt_tos == (CUSTOMER,)


async def test_smtps_accepts_auth_login_over_implicit_tls(secure_relay, sink: SmtpSink):
    relay = await secure_relay()
    args = ["--tlsc", *_auth(mechanism="LOGIN"), "--from", ANNA, "--to", CUSTOMER]
    run = await swaks(relay.ports[SMTPS], *args)
    assert run.delivered, run.transcript
    assert len(await sink.handler.wait_for(1)) == 1


async def test_auth_is_neither_offered_nor_accepted_before_starttls(secure_relay):
    relay = await secure_relay()

    def talk() -> tuple[bool, int]:
        with smtplib.SMTP("127.0.0.1", relay.ports[SUBMISSION], timeout=10) as client:
            client.ehlo()
            offered = client.has_extn("auth")
            code, _ = client.docmd("AUTH", "PLAIN " + "AGFubmEAcGFzcw==")
            return offered, code

    offered, code = await asyncio.to_thread(talk)
    assert not offered
    assert code == 538  # RFC 4954 6: encryption required for requested authentication mechanism


async def test_submission_refuses_mail_without_auth_even_after_starttls(secure_relay):
    relay = await secure_relay()
    run = await swaks(relay.ports[SUBMISSION], "--tls", "--from", ANNA, "--to", CUSTOMER)
    assert not run.delivered
    assert run.server_said("530")


async def test_wrong_password_is_refused_then_throttled_even_for_the_right_one(secure_relay):
    relay = await secure_relay(SIGRELAY_RELAY__AUTH_MAX_FAILURES="2")
    port = relay.ports[SUBMISSION]
    wrong = [await swaks(port, "--tls", *_auth(password="guess"), "--quit-after", "AUTH")]
    wrong.append(await swaks(port, "--tls", *_auth(password="guess2"), "--quit-after", "AUTH"))
    right = await swaks(port, "--tls", *_auth(), "--quit-after", "AUTH")

    assert all(run.server_said("535 5.7.8") for run in wrong), wrong[0].transcript
    assert right.server_said("454 4.7.0"), right.transcript
    assert "try again in 60 seconds" in right.transcript  # auth_block_seconds, told to the client


def _auth_plain_from(source_ip: str, port: int, user: str, password: str) -> int:
    """AUTH PLAIN from `source_ip` (any 127/8 address reaches a loopback listener)."""
    blob = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
    with smtplib.SMTP("127.0.0.1", port, timeout=10, source_address=(source_ip, 0)) as client:
        client.ehlo()
        client.starttls(context=_TRUST_ANY)
        client.ehlo()
        code, _ = client.docmd("AUTH", "PLAIN " + blob)
        return code


_TRUST_ANY = ssl.create_default_context()
_TRUST_ANY.check_hostname, _TRUST_ANY.verify_mode = False, ssl.CERT_NONE


async def test_failures_from_one_address_do_not_lock_the_user_out_elsewhere(secure_relay):
    # Issue 14, finding 6: five failures from one IP used to lock the user out from every IP.
    relay = await secure_relay()
    port = relay.ports[SUBMISSION]
    attacker, anna_at_her_desk = "127.0.0.2", "127.0.0.1"
    for guess in range(5):
        code = await asyncio.to_thread(_auth_plain_from, attacker, port, ANNA, f"guess{guess}")
        assert code == 535
    refused = await asyncio.to_thread(_auth_plain_from, attacker, port, ANNA, ANNA_PASSWORD)
    accepted = await asyncio.to_thread(
        _auth_plain_from, anna_at_her_desk, port, ANNA, ANNA_PASSWORD
    )

    assert refused == 454  # the guesser's address, even with the right password
    assert accepted == 235  # Anna herself, from her own address


async def test_parallel_guesses_from_one_address_are_checked_in_turn(secure_relay):
    relay = await secure_relay(SIGRELAY_RELAY__AUTH_MAX_FAILURES="3")
    port = relay.ports[SUBMISSION]
    loop = asyncio.get_running_loop()
    # Threads of their own: the relay checks passwords in the default pool.
    with ThreadPoolExecutor(8) as clients:
        guesses = [
            loop.run_in_executor(clients, _auth_plain_from, "127.0.0.4", port, ANNA, f"guess{n}")
            for n in range(8)
        ]
        codes = sorted(await asyncio.gather(*guesses))
    assert codes == [454] * 5 + [535] * 3


async def test_one_address_spraying_many_users_is_refused(secure_relay):
    relay = await secure_relay(SIGRELAY_RELAY__AUTH_MAX_FAILURES_PER_IP="3")
    port = relay.ports[SUBMISSION]
    codes = [
        await asyncio.to_thread(_auth_plain_from, "127.0.0.3", port, f"user{n}@example.com", "x")
        for n in range(3)
    ]
    then = await asyncio.to_thread(_auth_plain_from, "127.0.0.3", port, ANNA, ANNA_PASSWORD)
    assert codes == [535, 535, 535]
    assert then == 454


async def test_auth_on_loopback_without_tls_when_the_admin_allows_it(secure_relay, sink):
    relay = await secure_relay(SIGRELAY_RELAY__AUTH_ON_LOOPBACK_WITHOUT_TLS="true")
    run = await swaks(relay.ports[SUBMISSION], *_auth(), "--from", ANNA, "--to", CUSTOMER)
    assert run.delivered, run.transcript


async def test_tls_below_1_2_is_refused(secure_relay):
    relay = await secure_relay()
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.check_hostname, old.verify_mode = False, ssl.CERT_NONE
    old.minimum_version = old.maximum_version = ssl.TLSVersion.TLSv1_1

    def connect() -> None:
        smtplib.SMTP_SSL("127.0.0.1", relay.ports[SMTPS], context=old, timeout=10).quit()

    with pytest.raises((ssl.SSLError, ConnectionError)):
        await asyncio.to_thread(connect)
