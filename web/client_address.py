"""The address a request comes from: the socket's peer, or what trusted proxies report."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from starlette.requests import HTTPConnection

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in trusted)


def _parse(text: str) -> Address | None:
    """An address as proxies write it: bare, `a.b.c.d:port` or `[v6]:port`; None if not."""
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address.version == n.version and address in n for n in networks)


def client_address(
    peer: str | None, forwarded_for: list[str], trusted_proxies: tuple[str, ...]
) -> str:
    """The client's address. X-Forwarded-For is believed only when the peer is a trusted
    proxy, and then only from the right: each trusted proxy appends the address it saw, so
    the right-most entry that is not a trusted proxy is the client; anything to its left
    was written by the client and may be invented."""
    if peer is None:
        return "unknown"
    address = _parse(peer)
    if address is None:
        return peer
    networks = _networks(trusted_proxies)
    if not networks or not _trusted(address, networks):
        return str(address)
    hops = [hop for header in forwarded_for for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        hop_address = _parse(hop)
        if hop_address is None:
            # A trusted proxy wrote something that is no address: stop at that proxy.
            return str(address)
        address = hop_address
        if not _trusted(address, networks):
            return str(address)
    return str(address)


def of_connection(connection: HTTPConnection, trusted_proxies: tuple[str, ...]) -> str:
    """The client's address of an HTTP request or a WebSocket."""
    peer = connection.client.host if connection.client else None
    return client_address(peer, connection.headers.getlist("x-forwarded-for"), trusted_proxies)
