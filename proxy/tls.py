"""Server TLS for the listeners: certificates from PEM files, reloaded when they change.

Certificates are renewed on disk (certbot, an internal CA) while the relay
runs; a restart must not be needed. Every new connection asks `current()`,
which stats the two files (cheap) and builds a new context only when a
modification time or size changed. A broken half-written renewal keeps the
previous context and is logged, so clients never see a handshake failure
because of a renewal in progress.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("sigrelay.proxy.tls")


@dataclass(frozen=True)
class _Stamp:
    cert: tuple[int, int]
    key: tuple[int, int]


def _stamp(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_mtime_ns, info.st_size


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    # RFC 8996 deprecates TLS 1.0 and 1.1; BSI TR-02102 and RFC 9325 ask for 1.2+.
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


class CertificateFiles:
    def __init__(self, cert: Path, key: Path) -> None:
        self.cert = cert
        self.key = key
        self._stamp = _Stamp(_stamp(cert), _stamp(key))
        self._context = server_context(cert, key)  # a broken file at start-up is fatal
        self._front: ssl.SSLContext | None = None

    def current(self) -> ssl.SSLContext:
        """The context for a new connection, rebuilt if the files changed."""
        try:
            stamp = _Stamp(_stamp(self.cert), _stamp(self.key))
        except OSError as exc:
            log.error("tls-reload-failed cert=%s error=%s", self.cert, exc)
            return self._context
        if stamp != self._stamp:
            try:
                self._context = server_context(self.cert, self.key)
            except (OSError, ssl.SSLError) as exc:
                # Certificate and key are often written one after the other:
                # keep the old pair and try again on the next connection.
                log.error("tls-reload-failed cert=%s error=%s", self.cert, exc)
                return self._context
            self._stamp = stamp
            log.info("tls-reloaded cert=%s", self.cert)
        return self._context

    def implicit_tls_context(self) -> ssl.SSLContext:
        """For implicit TLS (`create_server(ssl=...)`), whose context is fixed
        when the server starts: a front context whose SNI callback, run in
        every handshake, swaps in the current one (SSLObject.context is settable)."""
        if self._front is None:
            front = server_context(self.cert, self.key)

            def choose(connection: ssl.SSLObject, server_name: str | None, _: object) -> None:
                connection.context = self.current()

            front.sni_callback = choose  # type: ignore[assignment]
            self._front = front
        return self._front
