"""The SMTP listeners of the relay: plain, submission (STARTTLS) and smtps.

Each `[[relay.listeners]]` entry becomes one asyncio server whose protocol is
`RelaySMTP`: aiosmtpd's SMTP (with DATA read in large steps, proxy/smtpdata.py)
plus what production submission needs and aiosmtpd leaves to us:
- AUTH PLAIN and LOGIN checked by an async backend (users file, LDAP,
  pass-through), throttled per client IP and per user; aiosmtpd's own
  authenticator hook is synchronous and would block the loop on argon2/LDAP;
- a cap on simultaneous connections per client IP and on all of them together
  (421 4.7.0, RFC 5321 3.8), so one address, or many, cannot take every
  file descriptor and buffer of the process;
- an overall deadline for DATA (proxy/smtpdata.py);
- 421 before closing an idle connection (RFC 5321 4.5.3.2.7 timeouts);
- AUTH on loopback without TLS when the admin allows it (a local webmail).
Submission and smtps require AUTH before MAIL; a plain listener lets
trusted networks relay and offers STARTTLS and AUTH when certificates exist.
"""

from __future__ import annotations

import asyncio
import binascii
import ipaddress
import logging
import math
import socket
from base64 import b64decode
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.smtp import MISSING, AuthResult

from config.logfields import quoted
from config.running import RunningConfig
from config.schema import ListenerMode, ListenerSection, RelaySection, split_host_port
from proxy import metrics
from proxy.auth import AuthBackend, AuthUnavailable
from proxy.auth.backends import open_backend
from proxy.server import RelayHandler, RelayPolicy, SessionSMTP
from proxy.throttle import AuthLimits, AuthThrottle
from proxy.tls import CertificateFiles
from tracker.store import Store
from tracker.store.throttle import Throttle

log = logging.getLogger("sigrelay.proxy.listeners")

TOO_MANY_CONNECTIONS = b"421 4.7.0 Too many connections from your address; try again later\r\n"
SERVER_BUSY = b"421 4.7.0 Too many connections to this server; try again later\r\n"
TIMED_OUT = b"421 4.4.2 Idle too long; closing connection\r\n"
LISTEN_BACKLOG = 1024  # the kernel caps it at net.core.somaxconn
AUTH_BLOCKED = "454 4.7.0 Too many failed authentication attempts; try again"
AUTH_UNAVAILABLE = "454 4.7.0 Temporary authentication failure; try again later"


def _peer_ip(peer: Any) -> str:
    return str(peer[0]) if isinstance(peer, tuple) and peer else "unknown"


def _is_loopback(ip: str) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_loopback


@dataclass
class SessionGuard:
    """What all listeners of one relay share: AUTH backend and connection counts."""

    backend: AuthBackend
    connections: Counter[str] = field(default_factory=Counter)
    open: int = 0  # every connection counted in `connections`, all IPs together


@dataclass(frozen=True)
class SessionLimits:
    """The listener settings one connection is held to, from one Config snapshot."""

    max_connections_per_ip: int
    max_connections: int
    auth_on_loopback_without_tls: bool
    throttle: AuthThrottle

    @classmethod
    def of(cls, relay: RelaySection, throttle: Throttle) -> SessionLimits:
        limits = AuthLimits(
            max_failures=relay.auth_max_failures,
            max_failures_per_ip=relay.auth_max_failures_per_ip,
            block_seconds=relay.auth_block_seconds,
            window=relay.auth_failure_window,
            base_delay=relay.auth_failure_delay,
        )
        return cls(
            max_connections_per_ip=relay.max_connections_per_ip,
            max_connections=relay.max_connections,
            auth_on_loopback_without_tls=relay.auth_on_loopback_without_tls,
            throttle=AuthThrottle(throttle, limits),
        )


class RelaySMTP(SessionSMTP):
    def __init__(
        self,
        handler: RelayHandler,
        policy: RelayPolicy,
        *,
        guard: SessionGuard,
        limits: SessionLimits,
        implicit_tls: bool,
        **options: Any,
    ) -> None:
        super().__init__(handler, policy, **options)
        self.guard = guard
        self.limits = limits
        self.implicit_tls = implicit_tls
        self._counted_ip: str | None = None

    # --- connections --------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        first = self._counted_ip is None and self.transport is None
        super().connection_made(transport)
        if not first:
            return  # the same connection again, after STARTTLS
        ip = _peer_ip(transport.get_extra_info("peername"))
        self._counted_ip = ip
        self.guard.connections[ip] += 1
        self.guard.open += 1
        refusal = None
        if self.guard.open > self.limits.max_connections:
            refusal, reason = SERVER_BUSY, "server-busy"
        elif self.guard.connections[ip] > self.limits.max_connections_per_ip:
            refusal, reason = TOO_MANY_CONNECTIONS, "too-many-connections"
        if refusal is not None:
            metrics.REJECTED.labels(reason).inc()
            log.info("refused client=%s reason=%s", ip, reason)
            # Written before the greeting task runs, so it is the first line the client reads.
            transport.write(refusal)  # type: ignore[attr-defined]
            transport.close()
            return
        # aiosmtpd only knows TLS it started itself (STARTTLS) and keeps this
        # flag per protocol instance; on smtps the connection is encrypted from
        # the first byte (passing False to the constructor logs a warning each time).
        loopback_allowed = self.limits.auth_on_loopback_without_tls and _is_loopback(ip)
        if self.implicit_tls or loopback_allowed:
            self._auth_require_tls = False

    def connection_lost(self, error: Exception | None) -> None:
        if self._counted_ip is not None:
            self.guard.open -= 1
            self.guard.connections[self._counted_ip] -= 1
            if self.guard.connections[self._counted_ip] <= 0:
                del self.guard.connections[self._counted_ip]
            self._counted_ip = None
        super().connection_lost(error)

    def _timeout_cb(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(TIMED_OUT)  # type: ignore[attr-defined]
        super()._timeout_cb()

    # --- AUTH (RFC 4954, RFC 4616) -------------------------------------------------

    async def auth_PLAIN(self, _: Any, args: list[str]) -> AuthResult:
        if len(args) == 1:
            blob = await self.challenge_auth("")
            if blob is MISSING:
                return AuthResult(success=False)
        else:
            try:
                blob = b64decode(args[1].encode(), validate=True)
            except binascii.Error:
                await self.push("501 5.5.2 Can't decode base64")
                return AuthResult(success=False)
        parts = blob.split(b"\x00")  # authzid NUL authcid NUL passwd
        if len(parts) != 3:
            await self.push("501 5.5.2 Can't split auth value")
            return AuthResult(success=False)
        return await self._verify(parts[1], parts[2])

    async def auth_LOGIN(self, _: Any, args: list[str]) -> AuthResult:
        if len(args) == 1:
            login = await self.challenge_auth(self.AuthLoginUsernameChallenge)
        else:
            try:
                login = b64decode(args[1].encode(), validate=True)
            except binascii.Error:
                await self.push("501 5.5.2 Can't decode base64")
                return AuthResult(success=False)
        if login is MISSING:
            return AuthResult(success=False)
        password = await self.challenge_auth(self.AuthLoginPasswordChallenge)
        if password is MISSING:
            return AuthResult(success=False)
        return await self._verify(login, password)

    async def _verify(self, login_bytes: bytes, password_bytes: bytes) -> AuthResult:
        assert self.session is not None
        ip = _peer_ip(self.session.peer)
        try:
            login, password = login_bytes.decode(), password_bytes.decode()
        except UnicodeDecodeError:
            return AuthResult(success=False, handled=False)
        throttle = self.limits.throttle
        async with throttle.one_at_a_time(ip):
            wait = await throttle.refused_for(ip, login)
            if wait > 0:
                log.warning(
                    "auth-refused client=%s user=%s reason=throttled retry_after=%d",
                    ip,
                    quoted(login),
                    math.ceil(wait),
                )
                message = f"{AUTH_BLOCKED} in {math.ceil(wait)} seconds"
                return AuthResult(success=False, handled=False, message=message)
            try:
                identity = await self.guard.backend.verify(login, password)
            except AuthUnavailable as exc:
                log.error(
                    "auth-unavailable client=%s user=%s error=%s", ip, quoted(login), quoted(exc)
                )
                return AuthResult(success=False, handled=False, message=AUTH_UNAVAILABLE)
            delay = await throttle.failed(ip, login) if identity is None else 0.0
        if identity is None:
            log.warning("auth-failed client=%s user=%s delay=%.2f", ip, quoted(login), delay)
            await asyncio.sleep(delay)  # the throttle itself: slows down guessing
            return AuthResult(success=False, handled=False)
        await throttle.succeeded(ip, login)
        log.info(
            "auth-ok client=%s user=%s address=%s", ip, quoted(login), quoted(identity.address)
        )
        return AuthResult(success=True, auth_data=identity)


@dataclass(frozen=True)
class BoundListener:
    mode: ListenerMode
    address: tuple[str, int]


class Listeners:
    """Starts and stops every configured listener of one relay.

    Each connection reads the running config once, when it is made: its
    limits, timeouts and policy come from that snapshot (a reload reaches the
    next connection). Sockets, certificates and the AUTH backend are made at
    start and need a restart (config/restart.py).

    `inherited`: per configured listener, the file descriptors of sockets the
    first relay process bound and passed on (proxy/workers.py); this process
    then accepts from those instead of binding its own."""

    def __init__(
        self,
        running: RunningConfig,
        handler: RelayHandler,
        store: Store,
        inherited: Sequence[Sequence[int]] | None = None,
    ) -> None:
        """`store`: where the AUTH throttle counts failures (shared by every node on it)."""
        cfg = running.current  # the start-up snapshot: what binds and opens
        relay = cfg.relay
        self.running = running
        self.handler = handler
        self.inherited = inherited
        self.listeners = relay.effective_listeners
        self.certificates: CertificateFiles | None = None
        if relay.tls_cert is not None and relay.tls_key is not None:
            self.certificates = CertificateFiles(
                cfg.config_dir / relay.tls_cert, cfg.config_dir / relay.tls_key
            )
        self.guard = SessionGuard(backend=open_backend(cfg))
        throttle = Throttle(store)  # one for all snapshots: it holds the per-IP locks
        self._limits = running.derive(lambda new: SessionLimits.of(new.relay, throttle))
        # (index in effective_listeners, mode, server)
        self._servers: list[tuple[int, ListenerMode, asyncio.Server]] = []

    def _factory(self, mode: ListenerMode):
        def factory() -> RelaySMTP:
            # One snapshot per connection (config/running.py).
            relay = self.running.current.relay
            certificates = self.certificates
            return RelaySMTP(
                self.handler,
                self.handler.policy(),
                guard=self.guard,
                limits=self._limits.get(),
                hostname=relay.hostname,
                ident="sigrelay",
                enable_SMTPUTF8=True,
                decode_data=False,
                timeout=relay.command_timeout,
                data_timeout=relay.data_timeout,
                # smtps: TLS is the transport itself, so STARTTLS is not offered.
                tls_context=certificates.current()
                if certificates and mode != ListenerMode.SMTPS
                else None,
                auth_required=mode != ListenerMode.PLAIN,
                implicit_tls=mode == ListenerMode.SMTPS,
            )

        return factory

    async def _start_one(self, index: int, listener: ListenerSection) -> list[asyncio.Server]:
        ssl_context = None
        if listener.mode == ListenerMode.SMTPS:
            assert self.certificates is not None, "the config schema requires tls_cert"
            ssl_context = self.certificates.implicit_tls_context()
        loop = asyncio.get_running_loop()
        factory = self._factory(listener.mode)
        if self.inherited is not None:
            return [
                await loop.create_server(factory, sock=socket.socket(fileno=fd), ssl=ssl_context)
                for fd in self.inherited[index]
            ]
        host, port = split_host_port(listener.listen)
        # A crowd of clients connecting at once must queue in the kernel and reach
        # the cap's 421, not have SYNs dropped by asyncio's default backlog of 100.
        backlog = max(LISTEN_BACKLOG, self.running.current.relay.max_connections)
        return [
            await loop.create_server(factory, host or None, port, ssl=ssl_context, backlog=backlog)
        ]

    async def start(self) -> None:
        try:
            for index, listener in enumerate(self.listeners):
                for server in await self._start_one(index, listener):
                    self._servers.append((index, listener.mode, server))
        except BaseException:
            await self.stop()
            raise
        for bound in self.bound:
            log.info("relay listening=%s:%d mode=%s", *bound.address, bound.mode.value)

    @property
    def bound(self) -> list[BoundListener]:
        """Where each listener is bound (the real port when the config said 0)."""
        return [
            BoundListener(mode, server.sockets[0].getsockname()[:2])
            for _, mode, server in self._servers
        ]

    def socket_fds(self) -> list[list[int]]:
        """Per configured listener, the descriptors of its listening sockets (to
        pass to more relay processes)."""
        fds: list[list[int]] = [[] for _ in self.listeners]
        for index, _, server in self._servers:
            fds[index].extend(sock.fileno() for sock in server.sockets)
        return fds

    async def stop(self) -> None:
        servers, self._servers = self._servers, []
        for _, _, server in servers:
            server.close()
        for _, _, server in servers:
            await server.wait_closed()
