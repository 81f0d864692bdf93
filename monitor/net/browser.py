"""Pages that build their posting with JavaScript, rendered in headless Chromium.

One browser for the whole process, started on first use; at most ``browser.max_pages``
pages at once, each in a fresh context (no profile, no cookies kept, downloads
refused, service workers blocked), each within ``browser.timeout``, with the
memory of each renderer capped. The rendered DOM goes to the same
extraction as any fetched page.

The address guard applies to every request the page makes. Each one is intercepted
and refused unless its host resolves only to addresses a fetch may reach (so a page
on a public host cannot make the browser fetch 127.0.0.1 or 169.254.169.254), and
only http(s) is let through; and every connection Chromium opens (redirect hops,
sub-resources, WebSocket, https) goes through ``GuardingProxy``, which connects only
to an address the guard just allowed (so DNS rebinding cannot move it either).
WebRTC may not send UDP outside the proxy. ``http.allowed_networks`` is still the
only way to reach private addresses.

Each render has a wall-clock deadline (``browser.timeout``) that covers reading the
DOM and closing the page: a page still running past it is closed (the browser is
restarted if it does not answer) and its check fails. A renderer whose memory
passes ``browser.max_heap_mb`` is killed, and its check fails. What the renderer
ended by force, and renders still running long past their deadline (a hung ending:
``monitor.core.renders``), are in ``state()`` for the heartbeat, ``health`` and
``/metrics``.

Playwright is an optional extra (``posting-monitor[browser]``) driving the system's
Chromium (Debian's ``chromium``) through ``executable_path``: nothing is downloaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import shutil
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from monitor.config import BrowserConfig
from monitor.core.renders import (
    BROWSER_RESTARTED,
    ENDED_BY_DEADLINE,
    ENDED_BY_MEMORY,
    RenderState,
)
from monitor.errors import BlockedAddress, ConfigError, FetchTimeout, TransportError
from monitor.net.browserproxy import GuardingProxy
from monitor.net.netguard import AddressGuard
from monitor.sources.base import FetchedPage, FetchResponse

log = logging.getLogger(__name__)
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_LET_THROUGH = ("http", "https", "data", "blob", "about")
_NO_PLAYWRIGHT = (
    "render = 'browser' or 'auto' needs the browser extra: pip install "
    "'posting-monitor[browser]' (and Debian's chromium)"
)


def find_browser(configured: Path | None) -> Path:
    """The Chromium to drive: the configured one, else the first on PATH."""
    if configured is not None:
        if not configured.is_file():
            raise ConfigError(f"no browser at {configured}", source="browser.executable")
        return configured
    for name in BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    raise ConfigError(
        "render = 'browser' needs Chromium: install Debian's chromium "
        "(apt-get install chromium) or set browser.executable",
        source="browser.executable",
    )


class PageRenderer(Protocol):
    """What checks of ``render = "browser" | "auto"`` watches draw pages with (the real
    one is ``BrowserRenderer``; ``monitor.testing.FakeBrowser`` serves drawn pages)."""

    def ensure_available(self) -> None: ...

    async def render(self, url: str) -> FetchResponse: ...

    def state(self) -> RenderState: ...

    async def aclose(self) -> None: ...


class BrowserRenderer:
    """Renders pages in one shared headless Chromium; ``render`` is safe to call from
    many checks at once."""

    def __init__(self, settings: BrowserConfig, guard: AddressGuard, *, user_agent: str) -> None:
        self._settings = settings
        self._guard = guard
        self._user_agent = user_agent
        self._slots = asyncio.Semaphore(settings.max_pages)
        self._start = asyncio.Lock()
        self._playwright: Any = None
        self._browser: Any = None
        self._proxy: GuardingProxy | None = None
        self._browser_pid: int | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._rendering = 0
        self._killed_at = 0.0
        self._render_ids = itertools.count()
        self._started: dict[int, float] = {}  # render id -> perf_counter when it took its slot
        self._ended: Counter[str] = Counter()
        self.refused: list[str] = []
        """Requests a page tried and the guard refused (newest last, bounded)."""

    async def render(self, url: str) -> FetchResponse:
        """The page at ``url`` after its scripts ran, as a fetched HTML page."""
        async with self._slots:
            # Timed from taking a slot: waiting for one is not rendering.
            started = time.perf_counter()
            render_id = next(self._render_ids)
            self._started[render_id] = started
            try:
                return await self._render_in_a_slot(url, started)
            finally:
                del self._started[render_id]

    def state(self) -> RenderState:
        now = time.perf_counter()
        return RenderState(
            slots=self._settings.max_pages,
            rendering=tuple(now - started for started in list(self._started.values())),
            ended=dict(self._ended),
            deadline_seconds=self._settings.timeout.total_seconds(),
        )

    async def _render_in_a_slot(self, url: str, started: float) -> FetchResponse:
        limit = self._settings.timeout.total_seconds()
        try:
            browser = await self._ensure_browser()
        except ConfigError as exc:  # uninstalled since the watch was added: a failed check
            raise TransportError(f"browser unavailable: {exc}", url=url) from exc
        self._rendering += 1
        context: Any = None
        try:
            # One deadline for the whole page: opening, loading, settling, reading.
            async with asyncio.timeout(limit):
                context = await browser.new_context(
                    accept_downloads=False,
                    service_workers="block",
                    user_agent=self._user_agent,
                    java_script_enabled=True,
                )
                return await self._render_in(context, url, started, limit)
        except TimeoutError as exc:
            self._ended[ENDED_BY_DEADLINE] += 1
            raise FetchTimeout(
                f"the page did not finish within {limit:g} s (closed)", url=url
            ) from exc
        finally:
            self._rendering -= 1
            if context is not None:
                await self._close(context)

    async def _render_in(
        self, context: Any, url: str, started: float, limit: float
    ) -> FetchResponse:
        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        await context.route("**/*", self._route)
        page = await context.new_page()
        visited: list[str] = []  # the top frame's URLs, each redirect hop included
        page.on(
            "request",
            lambda request: (
                visited.append(request.url)
                if request.is_navigation_request() and request.frame == page.main_frame
                else None
            ),
        )
        try:
            response = await page.goto(url, wait_until="load", timeout=limit * 1000)
            # Settling is a bonus: never at the cost of reading the page in time.
            left = limit - (time.perf_counter() - started) - _READ_SECONDS
            await _settle(page, min(max(limit / 5, 1), left))
            html = await page.content()
        except PlaywrightTimeout as exc:
            self._ended[ENDED_BY_DEADLINE] += 1
            raise FetchTimeout(f"the page did not render within {limit:g} s", url=url) from exc
        except PlaywrightError as exc:
            await self._check_visited(visited)  # a refused hop says so
            if "crash" in str(exc).lower() and self._killed_at >= started:
                self._ended[ENDED_BY_MEMORY] += 1
                raise TransportError(
                    f"browser: the page used more than {self._settings.max_heap_mb} MB "
                    "of memory (closed)",
                    url=url,
                ) from exc
            raise TransportError(f"browser: {_first_line(exc)}", url=url) from exc
        # A backstop to the proxy: where the page went must be where a fetch may go.
        final = page.url
        await self._check_visited([*visited, final])
        status = response.status if response is not None else 200
        fetched = FetchedPage(
            url=final, status=status, content_type="text/html", body=html.encode("utf-8")
        )
        latency_ms = round((time.perf_counter() - started) * 1000)
        return FetchResponse(
            page=fetched, not_modified=False, etag=None, last_modified=None, latency_ms=latency_ms
        )

    async def _check_visited(self, urls: list[str]) -> None:
        for visited in urls:
            if urlsplit(visited).scheme.lower() in ("http", "https"):
                await self._guard.check_url(visited)

    async def _close(self, context: Any) -> None:
        """Close a page's context; a browser that does not answer is restarted."""
        try:
            async with asyncio.timeout(_CLOSE_SECONDS):
                await context.close()
        except Exception as exc:  # a hung renderer or a browser gone: start afresh
            log.warning(
                "browser did not close a page (%s): restarting it",
                _first_line(exc) or type(exc).__name__,
                extra={"action": "browser_restart"},
            )
            self._ended[BROWSER_RESTARTED] += 1
            await self._stop_browser()

    async def _route(self, route: Any) -> None:
        """Every request the page makes: through only if a fetch could make it."""
        url = route.request.url
        scheme = urlsplit(url).scheme.lower()
        if scheme not in _LET_THROUGH:
            await self._refuse(route, url, f"scheme {scheme}")
            return
        if scheme in ("http", "https"):
            try:
                await self._guard.check_url(url)
            except (BlockedAddress, TransportError) as exc:
                await self._refuse(route, url, str(exc))
                return
        await route.continue_()

    async def _refuse(self, route: Any, url: str, reason: str) -> None:
        self._refused(url, reason)
        await route.abort("blockedbyclient")

    def _refused(self, url: str, reason: str) -> None:
        self.refused = [*self.refused[-99:], url]
        log.warning(
            "browser request refused: %s (%s)", url, reason, extra={"action": "browser_refused"}
        )

    def ensure_available(self) -> None:
        """ConfigError unless Playwright and a Chromium are there (checked when a watch
        that renders is added or configured, not at its first check)."""
        try:
            import playwright.async_api  # noqa: F401
        except ImportError as exc:
            raise ConfigError(_NO_PLAYWRIGHT, source="render") from exc
        find_browser(self._settings.executable)

    async def _ensure_browser(self) -> Any:
        async with self._start:
            if self._browser is None or not self._browser.is_connected():
                self._browser = await self._launch()
        return self._browser

    async def _launch(self) -> Any:
        try:
            from playwright.async_api import async_playwright
        except ImportError as exc:
            raise ConfigError(_NO_PLAYWRIGHT, source="render") from exc
        executable = find_browser(self._settings.executable)
        if self._playwright is None:
            self._playwright = await async_playwright().start()
        if self._proxy is None:
            self._proxy = GuardingProxy(self._guard, on_refused=self._refused)
            await self._proxy.start()
        args = [
            f"--js-flags=--max-old-space-size={self._settings.max_heap_mb}",
            f"--proxy-server={self._proxy.server}",
            "--proxy-bypass-list=<-loopback>",  # loopback too goes through the proxy
            # No WebRTC UDP outside the proxy, which carries none (this Chromium reads the
            # first name; others the second).
            "--webrtc-ip-handling-policy=disable_non_proxied_udp",
            "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
            "--disable-dev-shm-usage",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.append("--no-sandbox")  # Chromium refuses to run its sandbox as root
        log.info("starting %s", executable, extra={"action": "browser_start"})
        browser = await self._playwright.chromium.launch(
            executable_path=str(executable), headless=True, args=args
        )
        cdp = await browser.new_browser_cdp_session()
        self._browser_pid = next(
            (p["id"] for p in await _processes(cdp) if p.get("type") == "browser"), None
        )
        self._watchdog = asyncio.create_task(self._watch_memory(cdp))
        return browser

    async def _watch_memory(self, cdp: Any) -> None:
        """Kill any renderer past ``browser.max_heap_mb`` of resident memory (V8's own
        cap leaves out array buffers, canvases and the DOM); its page's check fails."""
        budget = self._settings.max_heap_mb * 1024 * 1024
        page_size = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
        while True:
            await asyncio.sleep(_MEMORY_POLL_SECONDS)
            if not self._rendering:
                continue
            try:
                processes = await _processes(cdp)
            except Exception:  # the browser is gone; a new one gets its own watchdog
                return
            for process in processes:
                if process.get("type") != "renderer":
                    continue
                pid = int(process["id"])
                resident = _resident_pages(pid) * page_size
                if resident > budget:
                    log.warning(
                        "browser page over %d MB (%d MB): killed",
                        self._settings.max_heap_mb,
                        resident // (1024 * 1024),
                        extra={"action": "browser_memory"},
                    )
                    self._killed_at = time.perf_counter()
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)

    async def _stop_browser(self) -> None:
        """Close the browser, or kill it when it does not answer."""
        browser, self._browser = self._browser, None
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        if browser is None:
            return
        try:
            async with asyncio.timeout(_CLOSE_SECONDS):
                await browser.close()
        except Exception:
            if self._browser_pid is not None:
                with contextlib.suppress(OSError):
                    os.kill(self._browser_pid, signal.SIGKILL)
        self._browser_pid = None

    async def aclose(self) -> None:
        await self._stop_browser()
        if self._playwright is not None:
            await self._playwright.stop()
            self._playwright = None
        if self._proxy is not None:
            await self._proxy.aclose()
            self._proxy = None


_CLOSE_SECONDS = 5.0
_READ_SECONDS = 1.0
"""Of ``browser.timeout``, kept for reading the DOM after the page settles."""
_MEMORY_POLL_SECONDS = 0.2


async def _processes(cdp: Any) -> list[dict[str, Any]]:
    answer = await cdp.send("SystemInfo.getProcessInfo")
    return list(answer.get("processInfo", []))


def _resident_pages(pid: int) -> int:
    """Resident memory of a process in pages (Linux ``/proc``; 0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0


async def _settle(page: Any, seconds: float) -> None:
    """Give the page's scripts time to fetch and draw the posting: network quiet for
    half a second, within ``seconds`` (a fifth of the time limit, or what is left of
    it; pages that poll never go quiet)."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    if seconds <= 0:
        return
    with contextlib.suppress(PlaywrightTimeout):
        await page.wait_for_load_state("networkidle", timeout=seconds * 1000)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


_SHELL_ROOTS = ("#root", "#app", "#__next", "#__nuxt", "[data-reactroot]", "app-root")
SHELL_TEXT_CHARS = 200


def looks_like_app_shell(page: FetchedPage) -> bool:
    """A page whose body is empty of text but loads scripts (or mounts an app root):
    what a JavaScript-built careers page sends before its scripts run. Pure."""
    if not page.content_type.startswith(("text/html", "application/xhtml")):
        return False
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(page.text())
    if tree.body is None:
        return False
    scripts = tree.css("script[src]")
    roots = [node for selector in _SHELL_ROOTS for node in tree.css(selector)]
    for node in tree.css("script, style, noscript, template"):
        node.decompose()
    text = " ".join((tree.body.text(separator=" ") or "").split())
    return len(text) < SHELL_TEXT_CHARS and bool(scripts or roots)
