"""Safe fetching against a real local server: no private, loopback or link-local
address unless allowed, on every redirect hop, and http(s) only."""

from __future__ import annotations

import asyncio
import gzip
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
import trustme

from monitor.config import HttpConfig
from monitor.errors import (
    BlockedAddress,
    BodyTooLarge,
    FetchError,
    FetchTimeout,
    TransportError,
)
from monitor.net.fetch import Fetcher
from monitor.net.netguard import AddressGuard, Resolver
from monitor.sources.base import FetchResponse
from monitor.testing import FakeDns
from tests.peers import FaultServer


class Routes(BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[int, dict[str, str], bytes]]] = {}

    def do_GET(self) -> None:
        status, headers, body = self.routes.get(self.path, (404, {}, b""))
        self.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        del format, args


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Routes)
    port = httpd.server_address[1]
    Routes.routes = {
        "/job": (200, {"Content-Type": "text/html"}, b"<h1>Engineer</h1>"),
        "/to-other-loopback": (302, {"Location": f"http://127.0.0.2:{port}/job"}, b""),
        "/to-metadata": (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""),
        "/to-file": (302, {"Location": "file:///etc/passwd"}, b""),
        "/gzip-gzip": (
            200,
            {"Content-Type": "text/html", "Content-Encoding": "gzip, gzip"},
            gzip.compress(gzip.compress(b"<h1>Engineer</h1>")),
        ),
    }
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    httpd.shutdown()
    httpd.server_close()


def fetch(
    url: str,
    allowed: tuple[str, ...] = (),
    *,
    resolver: Resolver | None = None,
    **settings: object,
) -> FetchResponse:
    async def once() -> FetchResponse:
        config = HttpConfig.model_validate({"allowed_networks": allowed, **settings})
        fetcher = Fetcher(config, resolver=resolver)
        try:
            return await fetcher.get(url)
        finally:
            await fetcher.aclose()

    return asyncio.run(once())


def test_loopback_is_refused_by_default(server: str) -> None:
    with pytest.raises(BlockedAddress, match=r"127\.0\.0\.1, a loopback address"):
        fetch(f"{server}/job")


def test_an_allowed_network_is_fetched(server: str) -> None:
    assert fetch(f"{server}/job", ("127.0.0.1/32",)).page.body == b"<h1>Engineer</h1>"


def test_the_real_transport_hands_over_raw_bytes_decoded_here(server: str) -> None:
    assert fetch(f"{server}/gzip-gzip", ("127.0.0.1/32",)).page.body == b"<h1>Engineer</h1>"


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ("/to-other-loopback", r"127\.0\.0\.2, a loopback address"),
        ("/to-metadata", r"169\.254\.169\.254, a link-local address"),
    ],
)
def test_every_redirect_hop_is_checked(server: str, path: str, refused: str) -> None:
    with pytest.raises(BlockedAddress, match=refused):
        fetch(f"{server}{path}", ("127.0.0.1/32",))


def test_names_are_judged_by_the_addresses_they_resolve_to(server: str) -> None:
    port = server.rsplit(":", 1)[1]
    with pytest.raises(BlockedAddress, match=r"localhost resolves to (127\.0\.0\.1|::1)"):
        fetch(f"http://localhost:{port}/job")


def test_a_redirect_to_another_scheme_is_refused(server: str) -> None:
    with pytest.raises(TransportError, match="not an http"):
        fetch(f"{server}/to-file", ("127.0.0.1/32",))


@pytest.mark.parametrize(
    ("address", "verdict"),
    [
        ("10.1.2.3", "a private address"),
        ("172.16.0.1", "a private address"),
        ("192.168.1.1", "a private address"),
        ("100.64.0.1", "a private address"),  # carrier-grade NAT
        ("127.0.0.1", "a loopback address"),
        ("::1", "a loopback address"),
        ("169.254.169.254", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("fd00::1", "a private address"),
        ("::ffff:10.0.0.1", "a private address"),  # IPv4-mapped
        ("0.0.0.0", "not a unicast address"),
        ("224.0.0.1", "not a unicast address"),
        ("93.184.215.14", None),
        ("2606:4700::1111", None),
        ("2002:7f00:1::", "a loopback address inside a 6to4 address"),
        ("2002:a00:1::", "a private address inside a 6to4 address"),
        ("2002:808:808::", None),  # 6to4 for a public address
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "a loopback address inside a Teredo address"),
        ("64:ff9b::a9fe:a9fe", "a link-local address inside a NAT64 address"),
        ("64:ff9b::808:808", None),
        ("::127.0.0.1", "a loopback address inside an IPv4-compatible address"),
    ],
)
def test_address_verdicts(address: str, verdict: str | None) -> None:
    assert AddressGuard().refusal(address) == verdict


def test_allowed_networks_open_exactly_what_they_name() -> None:
    guard = AddressGuard(["10.20.0.0/16"])
    assert guard.refusal("10.20.5.5") is None
    assert guard.refusal("10.21.0.1") == "a private address"


def test_allowed_networks_are_validated() -> None:
    with pytest.raises(ValueError, match="not an IP network"):
        HttpConfig(allowed_networks=("localhost",))


# -- names, certificates and connect-time checks, with a fake DNS ------------------------

LOCAL = ("127.0.0.1/32",)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_site(ca: trustme.CA) -> Iterator[tuple[FaultServer, FakeDns]]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("careers.test").configure_cert(context)
    with FaultServer(tls=context) as server:
        server.publish("/job", "<h1>Engineer</h1>")
        dns = FakeDns()
        dns.add("careers.test", 443, ("127.0.0.1", server.port))
        yield server, dns


@pytest.mark.parametrize("http2", [True, False], ids=["httpcore", "aiohttp"])
def test_https_is_verified_against_the_configured_ca_bundle(
    tls_site: tuple[FaultServer, FakeDns], ca: trustme.CA, tmp_path: Path, http2: bool
) -> None:
    _server, dns = tls_site
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    page = fetch("https://careers.test/job", LOCAL, resolver=dns, ca_bundle=bundle, http2=http2)
    assert page.page.body == b"<h1>Engineer</h1>"


@pytest.mark.parametrize("http2", [True, False], ids=["httpcore", "aiohttp"])
def test_a_certificate_from_an_unknown_authority_is_refused(
    tls_site: tuple[FaultServer, FakeDns], http2: bool
) -> None:
    server, dns = tls_site
    with pytest.raises(TransportError, match=r"(?i)certificate verify failed"):
        fetch("https://careers.test/job", LOCAL, resolver=dns, http2=http2)
    assert sum(server.served.values()) == 0


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_name_that_does_not_resolve_is_a_transport_error(scheme: str) -> None:
    dns = FakeDns()
    dns.fail_next("careers.test")
    with pytest.raises(TransportError, match=r"cannot resolve careers\.test: .*name resolution"):
        fetch(f"{scheme}://careers.test/job", resolver=dns)
    with pytest.raises(TransportError, match=r"cannot resolve careers\.test: .*not known"):
        fetch(f"{scheme}://careers.test/job", resolver=dns)


class Rebinding:
    """Answers a public address first, then loopback: DNS rebinding."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.lookups = 0

    async def resolve(self, host: str, port: int) -> list[tuple[str, int]]:
        self.lookups += 1
        address = "93.184.215.14" if self.lookups == 1 else "127.0.0.1"
        return [(address, self.port)]


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_name_that_rebinds_to_loopback_when_connecting_is_refused(scheme: str) -> None:
    with FaultServer() as server:
        server.publish("/job", "<h1>Engineer</h1>")
        dns = Rebinding(server.port)
        with pytest.raises(FetchError, match=r"127\.0\.0\.1.*a loopback address"):
            fetch(f"{scheme}://careers.test/job", resolver=dns)
        assert dns.lookups == 2  # judged before the request, and again when connecting
        assert sum(server.served.values()) == 0


@pytest.mark.parametrize(
    ("fault", "error", "message"),
    [
        ("reset", TransportError, "connection reset: .*Connection reset by peer"),
        ("truncated", TransportError, "the server closed the connection mid-response: "),
        ("timeout", FetchTimeout, "timed out"),
    ],
)
def test_connection_faults_are_named_for_what_happened(
    fault: str, error: type[FetchError], message: str
) -> None:
    """httpx-aiohttp calls every connection error a ConnectTimeout; a reset must not
    read as a timeout in the check log. (aiohttp sends a GET once more after a reset,
    as RFC 9112 allows, so the reset is played twice.)"""
    with FaultServer(hold=2) as server:
        server.publish("/job", "<h1>Engineer</h1>" * 100)
        server.play(*[fault] * (2 if fault == "reset" else 1))
        with pytest.raises(error, match=message) as caught:
            fetch(f"http://127.0.0.1:{server.port}/job", LOCAL, timeout=0.5)
        assert type(caught.value) is error


def test_a_refused_connection_is_a_transport_error() -> None:
    with FaultServer() as server:
        port = server.port
    with pytest.raises(TransportError, match="Connect call failed"):
        fetch(f"http://127.0.0.1:{port}/job", LOCAL)


@pytest.mark.parametrize("fault", ["huge", "gzip-bomb", "nested-gzip-bomb"])
@pytest.mark.parametrize("http2", [True, False], ids=["httpcore", "aiohttp"])
def test_bodies_over_the_limit_are_cut_off_on_both_transports(
    tls_site: tuple[FaultServer, FakeDns], ca: trustme.CA, tmp_path: Path, fault: str, http2: bool
) -> None:
    """Declared (6 MB) or expanded (60 KB of gzip that inflate to 60 MB, or under 1 KB
    of gzip of gzip that inflate to 256 MiB): either way the read stops at the limit
    with an error, and memory stays bounded."""
    server, dns = tls_site
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    server.play(fault)
    with pytest.raises(BodyTooLarge, match="larger than 5000000 bytes"):
        fetch("https://careers.test/job", LOCAL, resolver=dns, ca_bundle=bundle, http2=http2)
    assert server.pending() == 0


@pytest.mark.parametrize("fault", ["huge", "gzip-bomb", "nested-gzip-bomb"])
def test_bodies_over_the_limit_are_cut_off_over_plain_http(fault: str) -> None:
    with FaultServer() as server:
        server.play(fault)
        with pytest.raises(BodyTooLarge):
            fetch(f"http://127.0.0.1:{server.port}/job", LOCAL)


def test_a_name_with_one_public_and_one_private_address_is_refused() -> None:
    """Every address a name resolves to is judged, not only the first."""
    dns = FakeDns()
    dns.add("careers.test", 80, ("93.184.215.14", 80), ("10.0.0.7", 80))
    with pytest.raises(BlockedAddress, match=r"10\.0\.0\.7, a private address"):
        fetch("http://careers.test/job", resolver=dns)
    dns.add("careers.test", 80, ("10.0.0.7", 80), ("93.184.215.14", 80))
    with pytest.raises(BlockedAddress, match=r"10\.0\.0\.7, a private address"):
        fetch("http://careers.test/job", resolver=dns)


def test_a_host_whose_first_address_is_down_is_reached_at_the_next() -> None:
    """The connect-time fallback: 127.0.0.2 refuses, 127.0.0.1 answers."""
    with FaultServer() as server:
        server.publish("/job", "<h1>Engineer</h1>")
        dns = FakeDns()
        dns.add("careers.test", 80, ("127.0.0.2", server.port), ("127.0.0.1", server.port))
        response = fetch("http://careers.test/job", ("127.0.0.0/8",), resolver=dns)
        assert b"Engineer" in response.page.body


@pytest.mark.parametrize("http2", [True, False], ids=["httpcore", "aiohttp"])
def test_over_https_a_host_whose_first_address_is_down_is_reached_at_the_next(
    tls_site: tuple[FaultServer, FakeDns], ca: trustme.CA, tmp_path: Path, http2: bool
) -> None:
    """Both transports' connect-time fallback (httpcore's backend for HTTP/2, aiohttp's
    resolver otherwise), with the certificate still checked against the URL's name."""
    server, dns = tls_site
    dns.add("careers.test", 443, ("127.0.0.2", server.port), ("127.0.0.1", server.port))
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    page = fetch(
        "https://careers.test/job", ("127.0.0.0/8",), resolver=dns, ca_bundle=bundle, http2=http2
    )
    assert page.page.body == b"<h1>Engineer</h1>"


def test_the_system_resolver_answers_each_endpoint_once_and_keeps_it_for_its_ttl(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from socket import AF_INET, AF_INET6, SOCK_STREAM

    from monitor.net.netguard import SystemResolver

    asked: list[tuple[str, int, int]] = []

    async def getaddrinfo(host: str, port: int, *, type: int) -> list[tuple[object, ...]]:
        asked.append((host, port, type))
        v4 = (AF_INET, SOCK_STREAM, 6, "", ("93.184.215.14", port))
        return [v4, (AF_INET6, SOCK_STREAM, 6, "", ("2606:2800::1", port, 0, 0)), v4]

    async def resolve_with(ttl: float, times: int) -> list[list[tuple[str, int]]]:
        monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)
        resolver = SystemResolver(ttl=ttl)
        return [await resolver.resolve("careers.test", 443) for _ in range(times)]

    answers = asyncio.run(resolve_with(60, 3))
    assert answers == [[("93.184.215.14", 443), ("2606:2800::1", 443)]] * 3
    assert asked == [("careers.test", 443, SOCK_STREAM)]  # asked once in its ttl
    asked.clear()
    asyncio.run(resolve_with(0, 2))
    assert len(asked) == 2  # no ttl: asked every time


def test_the_system_resolver_reads_real_addresses() -> None:
    from monitor.net.netguard import SystemResolver

    assert asyncio.run(SystemResolver().resolve("127.0.0.1", 8080)) == [("127.0.0.1", 8080)]


def test_aiohttp_gets_every_allowed_address_as_a_numeric_host_of_its_family() -> None:
    from socket import AF_INET, AF_INET6, AI_NUMERICHOST

    from monitor.net.netguard import GuardedResolver

    dns = FakeDns()
    dns.add("careers.test", 80, ("127.0.0.1", 8080), ("::1", 8081))
    guard = AddressGuard(("127.0.0.1/32", "::1/128"), resolver=dns)
    answers = asyncio.run(GuardedResolver(guard).resolve("careers.test", 80))
    assert [dict(a) for a in answers] == [
        {"hostname": "careers.test", "host": "127.0.0.1", "port": 8080, "family": AF_INET,
         "proto": 0, "flags": AI_NUMERICHOST},
        {"hostname": "careers.test", "host": "::1", "port": 8081, "family": AF_INET6,
         "proto": 0, "flags": AI_NUMERICHOST},
    ]  # fmt: skip
    with pytest.raises(BlockedAddress, match=r"careers\.test:80"):
        asyncio.run(GuardedResolver(AddressGuard(resolver=dns)).resolve("careers.test", 80))


def test_a_url_is_checked_at_the_port_its_scheme_implies() -> None:
    """What the browser's route interception asks of every request a page makes."""
    dns = FakeDns()
    dns.add("careers.test", 443, ("127.0.0.1", 443))
    dns.add("careers.test", 80, ("10.0.0.7", 80))
    dns.add("careers.test", 8443, ("10.0.0.8", 8443))
    guard = AddressGuard(LOCAL, resolver=dns)
    asyncio.run(guard.check_url("https://careers.test/job"))  # 443: allowed
    with pytest.raises(BlockedAddress, match=r"10\.0\.0\.7") as plain:
        asyncio.run(guard.check_url("http://careers.test/job"))
    assert plain.value.url == "http://careers.test/job"
    with pytest.raises(BlockedAddress, match=r"10\.0\.0\.8"):
        asyncio.run(guard.check_url("https://careers.test:8443/job"))
    asyncio.run(AddressGuard(("::1/128",), resolver=dns).check_url("http://[::1]:8080/x"))
    with pytest.raises(TransportError, match="names no host"):
        asyncio.run(guard.check_url("https:///job"))


def test_over_http2_a_name_that_does_not_resolve_says_which() -> None:
    """httpcore's backend: the guard's error reaches the check with the name in it."""
    dns = FakeDns()
    with pytest.raises(TransportError, match=r"cannot resolve careers\.test: .*not known"):
        fetch("https://careers.test/job", resolver=dns, http2=True)


@pytest.mark.parametrize("http2", [True, False], ids=["httpcore", "aiohttp"])
def test_a_host_whose_every_address_is_down_is_a_transport_error(
    tls_site: tuple[FaultServer, FakeDns], ca: trustme.CA, tmp_path: Path, http2: bool
) -> None:
    server, dns = tls_site
    dns.add("careers.test", 443, ("127.0.0.2", server.port), ("127.0.0.3", server.port))
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    with pytest.raises(TransportError):
        fetch(
            "https://careers.test/job",
            ("127.0.0.0/8",),
            resolver=dns,
            ca_bundle=bundle,
            http2=http2,
        )
