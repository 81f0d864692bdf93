"""Pages that build their posting with JavaScript, read through headless Chromium
(Debian's, driven by Playwright): render = "browser" and "auto", and the address guard
on every request such a page makes."""

from __future__ import annotations

import asyncio
import contextlib
import io
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

import pytest

from monitor.app import App
from monitor.config import MonitorConfig
from monitor.engines.oneshot import check_all
from monitor.model import CheckOutcome, RemoteKind
from monitor.net.browser import looks_like_app_shell
from monitor.sources.base import FetchedPage

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)"
    ),
]
pytest.importorskip("playwright.async_api")

BUILT_BY_SCRIPT = """<!doctype html><html><head><title>Careers</title></head>
<body><div id="root"></div><script src="/app.js"></script></body></html>"""
APP_JS = """
const secret = "http://127.0.0.2:%(secret_port)d";
// What a hostile page would try: the private network, the cloud metadata service.
fetch(secret + "/steal").catch(() => {});
fetch("http://169.254.169.254/latest/meta-data/").catch(() => {});
const img = new Image(); img.src = secret + "/pixel.gif";
const data = {
  "@context": "https://schema.org", "@type": "JobPosting",
  "title": "Platform Engineer", "hiringOrganization": {"name": "Scriptly"},
  "jobLocationType": "TELECOMMUTE",
  "baseSalary": {"@type": "MonetaryAmount", "currency": "USD",
    "value": {"@type": "QuantitativeValue", "minValue": 140000, "maxValue": 170000,
              "unitText": "YEAR"}}
};
const ld = document.createElement("script");
ld.type = "application/ld+json"; ld.textContent = JSON.stringify(data);
document.head.appendChild(ld);
document.getElementById("root").innerHTML =
  "<h1>Platform Engineer</h1><h3>Requirements</h3>" +
  "<ul><li>Kubernetes in production</li><li>Go or Rust</li></ul>";
"""
STATIC = """<!doctype html><html><head><title>Data Analyst at Plainco</title>
<script type="application/ld+json">{"@context": "https://schema.org", "@type": "JobPosting",
"title": "Data Analyst", "hiringOrganization": {"name": "Plainco"}}</script></head>
<body><h1>Data Analyst</h1><p>SQL and Python.</p></body></html>"""


REACHING = STATIC.replace(
    "</body>",
    """<script>
// The same private service, by ways the first URL of a request does not show.
fetch("/redirect?to=" + encodeURIComponent("%(secret)s/fetch-redirect")).catch(() => {});
const frame = document.createElement("iframe");
frame.src = "/redirect?to=" + encodeURIComponent("%(secret)s/frame-redirect");
document.body.appendChild(frame);
const ws = new WebSocket("%(secret)s/websocket".replace("http:", "ws:"));
ws.onerror = () => {};
// WebRTC: a STUN binding request is UDP, which no HTTP proxy carries.
const peer = new RTCPeerConnection({iceServers: [{urls: "stun:%(stun)s"}]});
peer.createDataChannel("x");
peer.createOffer().then((offer) => peer.setLocalDescription(offer));
</script></body>""",
)
# https sub-requests go to the proxy as CONNECT host:port: the path is not shown there.
OVER_TLS = STATIC.replace(
    "</body>",
    """<script>
fetch("https://%(tls)s/tls-fetch").catch(() => {});
const tlsImage = new Image(); tlsImage.src = "https://%(tls)s/tls-pixel.gif";
const tlsFrame = document.createElement("iframe");
tlsFrame.src = "https://%(tls)s/tls-frame";
document.body.appendChild(tlsFrame);
</script></body>""",
)
SPIN = """<script>
addEventListener("load", () => setTimeout(() => { while (true) {} }, 50));
</script>"""
HOG = """<script>
// Array buffers live outside V8's heap, so --max-old-space-size alone does not bound them.
const kept = [];
const grow = () => {
  if (kept.length >= 60) return;
  const chunk = new Uint8Array(50 * 1024 * 1024); chunk.fill(7); kept.push(chunk);
  setTimeout(grow, 20);
};
grow();
</script>"""


@dataclass
class Site:
    """The careers site on 127.0.0.1 and a 'private' service on 127.0.0.2."""

    port: int = 0
    secret_port: int = 0
    secret_hits: list[str] = field(default_factory=list)
    stun: str = ""
    stun_hits: list[bytes] = field(default_factory=list)
    tls: str = ""
    tls_hits: list[str] = field(default_factory=list)
    """Connections of any kind to a private port meant for https (TLS or not)."""


def _serve(host: str, handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def site() -> Iterator[Site]:
    made = Site()

    class Secret(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            made.secret_hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            del format, args

    class Careers(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            secret = f"http://127.0.0.2:{made.secret_port}"
            if self.path.startswith("/redirect?to="):
                self.send_response(302)
                self.send_header("Location", unquote(self.path.removeprefix("/redirect?to=")))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            pages = {
                "/job": ("text/html", BUILT_BY_SCRIPT),
                "/app.js": ("application/javascript", APP_JS % {"secret_port": made.secret_port}),
                "/static": ("text/html", STATIC),
                "/reaching": ("text/html", REACHING % {"secret": secret, "stun": made.stun}),
                "/over-tls": ("text/html", OVER_TLS % {"tls": made.tls}),
                "/spin": ("text/html", STATIC.replace("</body>", SPIN + "</body>")),
                "/hog": ("text/html", STATIC.replace("</body>", HOG + "</body>")),
            }
            content_type, body = pages.get(self.path, ("text/plain", "not found"))
            self.send_response(200 if self.path in pages else 404)
            self.send_header("Content-Type", f"{content_type}; charset=utf-8")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, format: str, *args: object) -> None:
            del format, args

    secret = _serve("127.0.0.2", Secret)
    careers = _serve("127.0.0.1", Careers)
    made.secret_port = secret.server_address[1]
    stun = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stun.bind(("127.0.0.2", 0))
    stun.settimeout(0.2)
    made.stun = f"127.0.0.2:{stun.getsockname()[1]}"
    listening = threading.Event()
    listening.set()

    def listen() -> None:
        while listening.is_set():
            with contextlib.suppress(OSError):
                made.stun_hits.append(stun.recv(2048))

    udp = threading.Thread(target=listen, daemon=True)
    udp.start()
    tls = socket.create_server(("127.0.0.2", 0))
    tls.settimeout(0.2)
    made.tls = f"127.0.0.2:{tls.getsockname()[1]}"

    def accept() -> None:
        while listening.is_set():
            with contextlib.suppress(OSError):
                connection, peer = tls.accept()
                made.tls_hits.append(str(peer))
                connection.close()

    tcp = threading.Thread(target=accept, daemon=True)
    tcp.start()
    made.port = careers.server_address[1]
    try:
        yield made
    finally:
        listening.clear()
        udp.join()
        tcp.join()
        stun.close()
        tls.close()
        for server in (secret, careers):
            server.shutdown()
            server.server_close()


def _app(tmp_path: Path, watches: list[dict[str, str]], **browser: object) -> App:
    config = MonitorConfig.model_validate(
        {
            "data_dir": str(tmp_path),
            "http": {"allowed_networks": ["127.0.0.1/32"], "per_host_rate": 0},
            "browser": {"executable": CHROMIUM, "timeout": "20s", **browser},
            "watches": watches,
        }
    )
    app = App(config, console=io.StringIO())
    app.prepare()
    return app


def _check(app: App) -> list[CheckOutcome]:
    async def run() -> list[CheckOutcome]:
        try:
            return list((await check_all(app)).outcomes)
        finally:
            await app.aclose()

    return asyncio.run(run())


def test_a_page_built_by_script_is_read_in_the_browser_and_cannot_reach_private_addresses(
    tmp_path: Path, site: Site
) -> None:
    url = f"http://127.0.0.1:{site.port}/job"
    app = _app(tmp_path, [{"url": url, "render": "browser"}])
    browser = app.browser
    assert _check(app) == [CheckOutcome.BASELINE]

    reader = _app(tmp_path, [{"url": url, "render": "browser"}])
    try:
        posting = reader.store.postings.get_posting(url).current
    finally:
        asyncio.run(reader.aclose())
    assert posting is not None
    assert posting.title == "Platform Engineer"
    assert posting.company == "Scriptly"
    assert posting.remote.kind is RemoteKind.REMOTE
    assert [(s.min, s.max) for s in posting.salaries] == [(140000, 170000)]
    assert posting.requirements.minimum == ("Kubernetes in production", "Go or Rust")

    assert site.secret_hits == []  # the private service saw nothing
    refused = " ".join(browser.refused)
    assert f"127.0.0.2:{site.secret_port}/steal" in refused
    assert f"127.0.0.2:{site.secret_port}/pixel.gif" in refused
    assert "169.254.169.254" in refused


def test_a_plain_fetch_of_the_same_page_reads_only_its_title(tmp_path: Path, site: Site) -> None:
    url = f"http://127.0.0.1:{site.port}/job"
    app = _app(tmp_path, [{"url": url}])
    _check(app)
    reader = _app(tmp_path, [{"url": url}])
    try:
        posting = reader.store.postings.get_posting(url).current
    finally:
        asyncio.run(reader.aclose())
    assert posting is not None
    assert (posting.title, posting.salaries, posting.requirements.minimum) == ("Careers", (), ())


def test_auto_renders_only_an_app_shell(tmp_path: Path, site: Site) -> None:
    static = f"http://127.0.0.1:{site.port}/static"
    app = _app(tmp_path, [{"url": static, "render": "auto"}])
    browser = app.browser
    assert _check(app) == [CheckOutcome.BASELINE]
    assert browser._browser is None  # a page with its posting in the HTML: no browser

    shell = f"http://127.0.0.1:{site.port}/job"
    app = _app(tmp_path, [{"url": static, "render": "auto"}, {"url": shell, "render": "auto"}])
    outcomes = _check(app)
    assert CheckOutcome.BASELINE in outcomes
    assert CheckOutcome.ERROR not in outcomes
    reader = _app(tmp_path, [])
    try:
        assert reader.store.postings.get_posting(shell).title == "Platform Engineer"
    finally:
        asyncio.run(reader.aclose())


@pytest.mark.parametrize(
    ("html", "shell"),
    [
        (BUILT_BY_SCRIPT, True),
        (STATIC, False),
        (
            "<html><body><p>" + "Long text. " * 40 + "</p><script src=x.js></script></body></html>",
            False,
        ),
        ("<html><body></body></html>", False),
    ],
)
def test_what_counts_as_an_app_shell(html: str, shell: bool) -> None:
    page = FetchedPage(url="http://x", status=200, content_type="text/html", body=html.encode())
    assert looks_like_app_shell(page) is shell


def test_render_is_for_web_pages_only(tmp_path: Path) -> None:
    from monitor.errors import ConfigError

    app = _app(tmp_path, [])
    try:
        with pytest.raises(ConfigError, match="web pages"):
            app.watches.add(
                "https://boards.greenhouse.io/northwind",
                interval=timedelta(hours=1),
                render="browser",
            )
    finally:
        asyncio.run(app.aclose())


def test_a_missing_browser_is_named_when_the_watch_is_added(tmp_path: Path) -> None:
    from monitor.errors import ConfigError

    config = MonitorConfig.model_validate(
        {"data_dir": str(tmp_path), "browser": {"executable": str(tmp_path / "no-chromium")}}
    )
    app = App(config, console=io.StringIO())
    app.prepare()
    try:
        with pytest.raises(ConfigError, match="no browser at"):
            app.watches.add(
                "https://careers.example.com/jobs/1", interval=timedelta(hours=1), render="auto"
            )
        assert app.store.watches.list_watches() == []
    finally:
        asyncio.run(app.aclose())


def _errors(tmp_path: Path, urls: list[str]) -> list[str | None]:
    reader = _app(tmp_path, [])
    try:
        return [reader.store.postings.get_posting(url).last_error for url in urls]
    finally:
        asyncio.run(reader.aclose())


def test_a_redirect_of_the_page_itself_to_a_private_address_gets_nothing(
    tmp_path: Path, site: Site
) -> None:
    secret = f"http://127.0.0.2:{site.secret_port}/main-redirect"
    url = f"http://127.0.0.1:{site.port}/redirect?to={secret}"
    app = _app(tmp_path, [{"url": url, "render": "browser"}])
    browser = app.browser
    assert _check(app) == [CheckOutcome.ERROR]
    assert site.secret_hits == []  # the hop was refused, not only the first URL checked
    assert any(f"127.0.0.2:{site.secret_port}" in refused for refused in browser.refused)
    (error,) = _errors(tmp_path, [url])
    assert error is not None
    assert "refused" in error


def test_redirected_sub_resources_websockets_and_webrtc_cannot_reach_private_addresses(
    tmp_path: Path, site: Site
) -> None:
    url = f"http://127.0.0.1:{site.port}/reaching"
    app = _app(tmp_path, [{"url": url, "render": "browser"}])
    browser = app.browser
    assert _check(app) == [CheckOutcome.BASELINE]  # the page itself is read
    assert site.secret_hits == []
    refused = " ".join(browser.refused)
    assert f"127.0.0.2:{site.secret_port}/fetch-redirect" in refused
    assert f"127.0.0.2:{site.secret_port}/frame-redirect" in refused
    assert refused.count(f"127.0.0.2:{site.secret_port}") >= 3  # and the WebSocket's
    time.sleep(0.5)
    assert site.stun_hits == []  # no UDP outside the proxy


def test_https_sub_requests_cannot_reach_private_addresses(tmp_path: Path, site: Site) -> None:
    """fetch, an image and a frame over https: each a CONNECT the proxy refuses; the
    private port sees no connection at all."""
    url = f"http://127.0.0.1:{site.port}/over-tls"
    app = _app(tmp_path, [{"url": url, "render": "browser"}])
    browser = app.browser
    assert _check(app) == [CheckOutcome.BASELINE]  # the page itself is read
    time.sleep(0.3)  # a connection the browser made on its own would have arrived
    assert site.tls_hits == []
    assert site.tls in " ".join(browser.refused)


def test_a_page_that_runs_forever_after_load_fails_its_check_and_frees_its_slot(
    tmp_path: Path, site: Site
) -> None:
    spin = f"http://127.0.0.1:{site.port}/spin"
    static = f"http://127.0.0.1:{site.port}/static"
    watches = [{"url": spin, "render": "browser"}, {"url": static, "render": "browser"}]
    app = _app(tmp_path, watches, timeout="4s", max_pages=1)
    started = time.monotonic()
    outcomes = _check(app)
    assert time.monotonic() - started < 60
    assert sorted(outcomes) == sorted([CheckOutcome.ERROR, CheckOutcome.BASELINE])
    spun, read = _errors(tmp_path, [spin, static])
    assert spun is not None
    assert "did not finish within 4 s" in spun
    assert read is None
    state = app.browser.state()  # what /metrics and the heartbeat report
    assert state.ended.get("deadline") == 1
    assert state.rendering == ()  # its slot was freed


def test_a_page_using_more_memory_than_allowed_fails_its_check(tmp_path: Path, site: Site) -> None:
    hog = f"http://127.0.0.1:{site.port}/hog"
    app = _app(tmp_path, [{"url": hog, "render": "browser"}], max_heap_mb=256, timeout="30s")
    started = time.monotonic()
    assert _check(app) == [CheckOutcome.ERROR]
    assert time.monotonic() - started < 25  # killed, not timed out
    (error,) = _errors(tmp_path, [hog])
    assert error is not None
    assert "more than 256 MB" in error
    assert app.browser.state().ended.get("memory") == 1
