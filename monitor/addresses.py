"""Which addresses a fetch may go to: a pure judgement on the address alone.

Private, loopback, link-local and non-unicast addresses are refused unless an
allowed network holds them; an IPv6 address that carries an IPv4 address (6to4,
Teredo, NAT64, IPv4-compatible) is judged by that address. Used by the address
guard at fetch time and when a URL is added, for addresses written in the URL.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def embedded_ipv4(ip: IPAddress) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address an IPv6 address carries and reaches (6to4, Teredo, NAT64,
    IPv4-compatible), so that [2002:7f00:1::] is judged as 127.0.0.1 is."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.sixtofour is not None:
        return "a 6to4", ip.sixtofour
    if ip.teredo is not None:
        return "a Teredo", ip.teredo[1]
    if any(ip in network for network in _NAT64):
        return "a NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:
        return "an IPv4-compatible", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_refusal(address: str, allowed: Sequence[Network] = ()) -> str | None:
    """Why ``address`` may not be fetched, or None when it may."""
    ip: IPAddress = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in network for network in allowed):
        return None
    embedded = embedded_ipv4(ip)
    if embedded is not None:
        kind, inner = embedded
        reason = address_refusal(str(inner), allowed)
        return f"{reason} inside {kind} address" if reason else None
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return "not a unicast address"
    if not ip.is_global:
        return "a private address"
    return None


def valid_networks(values: Sequence[Any]) -> tuple[str, ...]:
    """Config validation: each value must be an IP network such as 127.0.0.0/8."""
    checked = []
    for value in values:
        try:
            checked.append(str(ipaddress.ip_network(str(value), strict=False)))
        except ValueError:
            raise ValueError(
                f"{value!r} is not an IP network (e.g. 127.0.0.0/8, ::1/128)"
            ) from None
    return tuple(checked)
