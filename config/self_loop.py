"""The relay must never send a message back to itself: an upstream that is one
of our own listeners makes every message circle until the hop limit bounces it.

Compared as written (config/ knows no sockets, so no name is resolved): the
same host and port, a wildcard listener (0.0.0.0, ::) and any loopback
upstream on its port, and loopback spelled as `localhost`, 127.x or ::1.
An upstream name that resolves to this host is not caught here.
"""

from __future__ import annotations

import ipaddress

from config.schema import RelaySection, UpstreamEndpoint
from config.schema_types import split_host_port

_WILDCARDS = {"", "0.0.0.0", "::", "*"}


def _is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _same_host(listen_host: str, upstream_host: str) -> bool:
    listen_host, upstream_host = listen_host.lower(), upstream_host.lower()
    if listen_host == upstream_host:
        return True
    if listen_host in _WILDCARDS:
        return _is_loopback(upstream_host) or upstream_host in _WILDCARDS
    return _is_loopback(listen_host) and _is_loopback(upstream_host)


def own_listener(relay: RelaySection, upstream: UpstreamEndpoint) -> str | None:
    """The listener (host:port as configured) the upstream points at, or None."""
    if upstream.scheme == "maildir":
        return None
    for listener in relay.effective_listeners:
        host, port = split_host_port(listener.listen)
        if port == upstream.port and _same_host(host, upstream.host):
            return listener.listen
    return None
