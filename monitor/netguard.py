"""Where fetches may go. A watched URL is user input: without this guard it could
make the daemon fetch its own admin ports, a cloud metadata endpoint or a machine
on the private network (SSRF). Every hop of every fetch is checked; addresses
that are not public are refused unless ``http.allowed_networks`` allows them.

Checked twice for plain HTTP: before the request (every address the name
resolves to) and in aiohttp's resolver at connect time, so a name that resolves
differently the second time (DNS rebinding) is still refused.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from monitor.errors import BlockedAddress, TransportError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_CACHE_SECONDS = 60.0


class AddressGuard:
    def __init__(self, allowed_networks: Iterable[str] = ()) -> None:
        self._allowed = [ipaddress.ip_network(n, strict=False) for n in allowed_networks]
        self._resolved: dict[tuple[str, int], tuple[float, list[str]]] = {}
        self._verdicts: dict[str, str | None] = {}

    def refusal(self, address: str) -> str | None:
        """Why ``address`` may not be fetched, or None when it may."""
        if address not in self._verdicts:
            if len(self._verdicts) > 10_000:  # a bound, not a working-set estimate
                self._verdicts.clear()
            self._verdicts[address] = self._judge(address)
        return self._verdicts[address]

    def _judge(self, address: str) -> str | None:
        ip: IPAddress = ipaddress.ip_address(address.split("%")[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if any(ip in network for network in self._allowed):
            return None
        if ip.is_loopback:
            return "a loopback address"
        if ip.is_link_local:
            return "a link-local address"
        if ip.is_multicast or ip.is_unspecified or ip.is_reserved:
            return "not a unicast address"
        if not ip.is_global:
            return "a private address"
        return None

    async def check_url(self, url: str) -> None:
        """Raise ``BlockedAddress`` unless every address the URL's host names is allowed."""
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        await self.check_host((parts.hostname or "").strip("[]"), port, url)

    async def check_host(self, host: str, port: int, url: str) -> None:
        if not host:
            raise TransportError("the URL names no host", url=url)
        for address in await self._addresses(host, port, url):
            reason = self.refusal(address)
            if reason is not None:
                raise BlockedAddress(url=url, host=host, address=address, reason=reason)

    async def _addresses(self, host: str, port: int, url: str) -> list[str]:
        if host in self._verdicts:  # an address literal already judged
            return [host]
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            pass
        cached = self._resolved.get((host, port))
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except OSError as exc:
            raise TransportError(f"cannot resolve {host}: {exc}", url=url) from exc
        addresses = sorted({str(info[4][0]) for info in infos})
        self._resolved[(host, port)] = (time.monotonic() + _CACHE_SECONDS, addresses)
        return addresses


class GuardedTransport(httpx.AsyncBaseTransport):
    """Checks each request's host with the guard before ``inner`` sends it."""

    def __init__(self, inner: httpx.AsyncBaseTransport, guard: AddressGuard) -> None:
        self._inner = inner
        self._guard = guard

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        port = url.port or (443 if url.scheme == "https" else 80)
        await self._guard.check_host(url.host, port, str(url))
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver, refusing at connect time what the guard refuses."""

    def __init__(self, guard: AddressGuard) -> None:
        self._guard = guard
        self._inner = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        refused = [r["host"] for r in results if self._guard.refusal(r["host"]) is not None]
        if refused:
            raise OSError(f"{host} resolves to {refused[0]}, which may not be fetched")
        return results

    async def close(self) -> None:
        await self._inner.close()


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
