"""The AUTH backends against real servers: slapd for LDAP bind, an aiosmtpd
upstream with an authenticator for pass-through."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
from securerelay import ANNA
from slapdpeer import USER_DN, LdapUser, Slapd
from swaks import swaks

from config.schema import ListenerMode, parse_upstream
from peers import free_port
from proxy.auth import AuthUnavailable, Identity
from proxy.auth.ldap import LdapBind
from proxy.auth.passthrough import PassThrough

LDAP_ANNA = LdapUser(uid="anna", mail=ANNA, password="ldap secret")


@pytest.fixture
def slapd(tmp_path: Path) -> Iterator[Slapd]:
    server = Slapd(tmp_path / "slapd", [LDAP_ANNA])
    server.start()
    yield server
    server.stop()


async def test_ldap_bind_proves_the_users_mail_address(slapd: Slapd):
    backend = LdapBind(slapd.url, USER_DN)
    identity = await backend.verify("anna", LDAP_ANNA.password)
    assert identity == Identity(login="anna", address=ANNA)


async def test_ldap_bind_with_a_wrong_password_fails(slapd: Slapd):
    assert await LdapBind(slapd.url, USER_DN).verify("anna", "wrong") is None


async def test_ldap_bind_with_an_empty_password_fails_instead_of_binding_anonymously(slapd):
    assert await LdapBind(slapd.url, USER_DN).verify("anna", "") is None


async def test_ldap_login_cannot_inject_into_the_dn(slapd: Slapd):
    backend = LdapBind(slapd.url, USER_DN)
    assert await backend.verify("anna,ou=people", LDAP_ANNA.password) is None


async def test_ldap_server_down_is_a_temporary_failure():
    backend = LdapBind(f"ldap://127.0.0.1:{free_port()}", USER_DN, timeout=2)
    with pytest.raises(AuthUnavailable):
        await backend.verify("anna", "whatever")


async def test_relay_authenticates_submission_against_ldap(secure_relay, slapd: Slapd, sink):
    relay = await secure_relay(
        SIGRELAY_RELAY__AUTH_BACKEND="ldap",
        SIGRELAY_RELAY__LDAP_URL=slapd.url,
        SIGRELAY_RELAY__LDAP_USER_DN=USER_DN,
    )
    run = await swaks(
        relay.ports[ListenerMode.SUBMISSION], "--tls", "--auth", "LOGIN", "--auth-user", "anna",
        "--auth-password", LDAP_ANNA.password, "--from", ANNA, "--to", "kim@customer.test",
    )  # fmt: skip
    assert run.delivered, run.transcript


# --- pass-through -----------------------------------------------------------------


class UpstreamAccounts:
    """An upstream's authenticator: one account, and a count of the checks it made."""

    def __init__(self, login: str, password: str) -> None:
        self.credentials = LoginPassword(login.encode(), password.encode())
        self.checks = 0

    def __call__(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        self.checks += 1
        return AuthResult(success=auth_data == self.credentials, handled=False)


@pytest.fixture
async def upstream_with_auth() -> AsyncIterator[tuple[int, UpstreamAccounts]]:
    accounts = UpstreamAccounts(ANNA, "upstream secret")
    port = free_port()

    class Accept:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    def factory() -> SMTP:
        # Plain text on loopback only: the test upstream has no certificate.
        return SMTP(Accept(), authenticator=accounts, auth_require_tls=False)

    server = await asyncio.get_running_loop().create_server(factory, "127.0.0.1", port)
    yield port, accounts
    server.close()
    await server.wait_closed()


def _pass_through(port: int, clock=lambda: 0.0) -> PassThrough:
    endpoint = parse_upstream(f"smtp://127.0.0.1:{port}")
    return PassThrough(endpoint, local_hostname="relay.test", cache_seconds=300, clock=clock)


async def test_pass_through_accepts_what_the_upstream_accepts(upstream_with_auth):
    port, _ = upstream_with_auth
    identity = await _pass_through(port).verify(ANNA, "upstream secret")
    assert identity == Identity(login=ANNA, address=ANNA)


async def test_pass_through_refuses_what_the_upstream_refuses(upstream_with_auth):
    port, _ = upstream_with_auth
    assert await _pass_through(port).verify(ANNA, "wrong") is None


async def test_pass_through_success_is_cached_until_it_expires(upstream_with_auth):
    port, accounts = upstream_with_auth
    now = [0.0]
    backend = _pass_through(port, clock=lambda: now[0])

    await backend.verify(ANNA, "upstream secret")
    await backend.verify(ANNA, "upstream secret")
    cached_checks = accounts.checks
    now[0] = 301.0
    await backend.verify(ANNA, "upstream secret")

    assert cached_checks == 1
    assert accounts.checks == 2


async def test_pass_through_cache_does_not_accept_another_password(upstream_with_auth):
    port, _ = upstream_with_auth
    backend = _pass_through(port)
    await backend.verify(ANNA, "upstream secret")
    assert await backend.verify(ANNA, "upstream secret, almost") is None
