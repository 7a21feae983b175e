"""Throttled sign-in (contract/DECISIONS.md, "Throttled sign-in"): who the client is, and the
names of the SQL functions of migration 0004 that count failures (sign_in_retry_after,
sign_in_failed, sign_in_succeeded), so all four implementations apply one rule."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from shared.inputs import NUL

TOO_MANY = "Too many failed sign-ins; try again later."

# PostgreSQL text cannot hold U+0000; no user's email has one (the sign-in fails), but the
# failure must still be counted, under this stand-in.
NUL_STAND_IN = "\N{REPLACEMENT CHARACTER}"


def sign_in_key(username: str) -> str:
    """The email a sign-in's failures are counted under: lower-cased, as users are stored."""
    return username.lower().replace(NUL, NUL_STAND_IN)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[Network, ...]:
    """`TRUSTED_PROXIES`: comma-separated addresses or CIDRs (ValueError names a bad one)."""
    networks = []
    for item in (part.strip() for part in text.split(",")):
        if item:
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(f"not an address or CIDR: {item!r}") from None
    return tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    # An IPv4 peer on a dual-stack socket arrives as ::ffff:a.b.c.d; count it as a.b.c.d.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_address(peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """The socket peer; when the peer is a trusted proxy, the right-most `X-Forwarded-For` entry
    that is not itself trusted (entries a client put further left are not believed). A peer
    that is not an IP address (a Unix socket) counts as `0.0.0.0`."""
    current = _address(peer or "") or ipaddress.ip_address("0.0.0.0")
    if not forwarded_for:
        return str(current)
    hops = [hop for hop in forwarded_for.split(",") if hop.strip()]
    while hops and any(current in network for network in trusted):
        candidate = _address(hops.pop())
        if candidate is None:  # a garbled entry: stop believing the chain here
            break
        current = candidate
    return str(current)
