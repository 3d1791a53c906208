"""The client's address, as far as we may believe it, and how little of it we keep.

Behind a reverse proxy the peer is the proxy; the client is in
X-Forwarded-For, which anyone can write. So the header counts only when the
peer is a configured trusted proxy, and then we take the rightmost address
that is not itself a trusted proxy (RFC 7239 7.4: the nearest hop we trust
appended it). The address is used to classify the request; it is stored only
if the admin asked, and then only truncated (/24 for IPv4, /48 for IPv6).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv6Address
from socket import AF_INET, AF_INET6, inet_pton

from tracker.networks import IpAddress, IpNetwork, PeerNumber

TRUNCATE_V4 = 24
TRUNCATE_V6 = 48


def _peer(text: str | None) -> IpAddress | None:
    """The socket's peer address: written by the kernel, so always canonical, and
    parsed on every request. inet_pton is ~4x quicker than ipaddress's parser;
    anything it refuses (an IPv6 scope id, say) goes the careful way."""
    if text:
        try:
            return IPv4Address(inet_pton(AF_INET, text))
        except OSError:
            pass
        try:
            address = IPv6Address(inet_pton(AF_INET6, text))
        except OSError:
            return _parse(text)
        return address.ipv4_mapped or address
    return None


def peer_number(text: str | None) -> PeerNumber | None:
    """The socket peer as (IP version, integer): all a network lookup needs, for
    the request handlers when no proxy is trusted and no address is stored.
    Skips building an ipaddress object (~1 us of every tracker request)."""
    if text:
        try:
            return 4, int.from_bytes(inet_pton(AF_INET, text), "big")
        except OSError:
            address = _peer(text)  # IPv6, IPv4-mapped IPv6, odd forms: the careful way
            return None if address is None else (address.version, int(address))
    return None


def _parse(text: str | None) -> IpAddress | None:
    if not text:
        return None
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class ClientAddresses:
    def __init__(self, trusted_proxies: Iterable[IpNetwork] = ()) -> None:
        self.trusted = tuple(trusted_proxies)

    def _is_trusted(self, address: IpAddress) -> bool:
        return any(address in network for network in self.trusted)

    def client(self, peer: str | None, forwarded_for: str | None) -> IpAddress | None:
        """The client's address: the peer, unless a trusted proxy forwarded for someone."""
        address = _peer(peer)
        if address is None or not self.trusted or not forwarded_for:
            return address
        if not self._is_trusted(address):
            return address
        for hop in reversed(forwarded_for.split(",")):
            hop_address = _parse(hop)
            if hop_address is None:
                return address  # a garbled chain: believe no further than the proxy
            if not self._is_trusted(hop_address):
                return hop_address
            address = hop_address
        return address


def truncated(address: IpAddress) -> str:
    """The network the address is in, as stored: `203.0.113.0/24`, `2001:db8:1::/48`."""
    prefix = TRUNCATE_V4 if address.version == 4 else TRUNCATE_V6
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
