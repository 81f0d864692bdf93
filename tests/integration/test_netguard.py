"""Safe fetching against a real local server: no private, loopback or link-local
address unless allowed, on every redirect hop, and http(s) only."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from monitor.config import HttpConfig
from monitor.errors import BlockedAddress, TransportError
from monitor.fetch import Fetcher, FetchResponse
from monitor.netguard import AddressGuard


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
    }
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    httpd.shutdown()
    httpd.server_close()


def fetch(url: str, allowed: tuple[str, ...] = ()) -> FetchResponse:
    async def once() -> FetchResponse:
        fetcher = Fetcher(HttpConfig(allowed_networks=allowed))
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
