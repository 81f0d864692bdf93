"""Where fetches may go. A watched URL is user input: without this guard it could
make the daemon fetch its own admin ports, a cloud metadata endpoint or a machine
on the private network (SSRF). Every hop of every fetch is checked; addresses
that are not public are refused unless ``http.allowed_networks`` allows them.

Checked twice: before the request (every address the name resolves to), and
again when a connection is opened (aiohttp's resolver for plain HTTP, the httpcore
network backend for https), where the connection goes to an address just judged,
so a name that resolves differently the second time (DNS rebinding) is still
refused. Both ask one ``Resolver``, an injectable seam like the HTTP transport.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Iterable
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpcore
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult

from monitor.addresses import address_refusal
from monitor.errors import BlockedAddress, TransportError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Endpoint = tuple[str, int]
"""An address and port to connect to, as getaddrinfo answers."""


class Resolver(Protocol):
    async def resolve(self, host: str, port: int) -> list[Endpoint]:
        """Where ``host:port`` may be reached; ``OSError`` when the name does not resolve."""
        ...


class SystemResolver:
    """The system's getaddrinfo (off the event loop), answers kept for ``ttl`` seconds."""

    def __init__(self, ttl: float = 60.0) -> None:
        self._ttl = ttl
        self._answers: dict[Endpoint, tuple[float, list[Endpoint]]] = {}

    async def resolve(self, host: str, port: int) -> list[Endpoint]:
        cached = self._answers.get((host, port))
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        # In getaddrinfo's order (RFC 6724 preference), each endpoint once.
        endpoints = list(dict.fromkeys((str(info[4][0]), int(info[4][1])) for info in infos))
        if len(self._answers) > 10_000:  # a bound, not a working-set estimate
            self._answers.clear()
        self._answers[(host, port)] = (time.monotonic() + self._ttl, endpoints)
        return endpoints


class AddressGuard:
    def __init__(
        self, allowed_networks: Iterable[str] = (), resolver: Resolver | None = None
    ) -> None:
        self._allowed = [ipaddress.ip_network(n, strict=False) for n in allowed_networks]
        self._resolver = resolver or SystemResolver()
        self._verdicts: dict[str, str | None] = {}

    def refusal(self, address: str) -> str | None:
        """Why ``address`` may not be fetched, or None when it may."""
        if address not in self._verdicts:
            if len(self._verdicts) > 10_000:  # a bound, not a working-set estimate
                self._verdicts.clear()
            self._verdicts[address] = self._judge(address)
        return self._verdicts[address]

    def _judge(self, address: str) -> str | None:
        return address_refusal(address, self._allowed)

    async def check_url(self, url: str) -> None:
        """Raise ``BlockedAddress`` unless every address the URL's host names is allowed."""
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        await self.check_host((parts.hostname or "").strip("[]"), port, url)

    async def check_host(self, host: str, port: int, url: str) -> None:
        await self.endpoints(host, port, url)

    async def endpoints(self, host: str, port: int, url: str) -> list[Endpoint]:
        """Where ``host:port`` resolves, every address allowed; else ``BlockedAddress``
        (or ``TransportError`` when the name does not resolve)."""
        if not host:
            raise TransportError("the URL names no host", url=url)
        endpoints = await self._resolve(host, port, url)
        if not endpoints:
            raise TransportError(f"cannot resolve {host}: no addresses", url=url)
        for address, _port in endpoints:
            reason = self.refusal(address)
            if reason is not None:
                raise BlockedAddress(url=url, host=host, address=address, reason=reason)
        return endpoints

    async def _resolve(self, host: str, port: int, url: str) -> list[Endpoint]:
        if host in self._verdicts:  # an address literal already judged
            return [(host, port)]
        try:
            return [(str(ipaddress.ip_address(host)), port)]
        except ValueError:
            pass
        try:
            return await self._resolver.resolve(host, port)
        except OSError as exc:
            raise TransportError(f"cannot resolve {host}: {exc}", url=url) from exc


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
    """aiohttp's resolver: the guard's resolver, refusing at connect time what the
    guard refuses. Its errors pass through aiohttp and httpx-aiohttp untouched (they
    wrap only ``OSError``), so they read as they do for https."""

    def __init__(self, guard: AddressGuard) -> None:
        self._guard = guard

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        endpoints = await self._guard.endpoints(host, port, url=f"{host}:{port}")
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=where,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address, where in endpoints
        ]

    async def close(self) -> None:
        return None


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to addresses the guard just
    allowed (TLS still verifies the certificate against the URL's host name)."""

    def __init__(self, guard: AddressGuard) -> None:
        self._guard = guard
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            endpoints = await self._guard.endpoints(host, port, url=f"{host}:{port}")
        except TransportError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        failure: Exception | None = None
        for address, where in endpoints:
            try:
                return await self._inner.connect_tcp(
                    address,
                    where,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc  # try the host's next address
        assert failure is not None  # endpoints is never empty
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("fetches never use unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
