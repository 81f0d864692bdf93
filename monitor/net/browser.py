"""Pages that build their posting with JavaScript, rendered in headless Chromium.

One browser for the whole process, started on first use; at most ``browser.max_pages``
pages at once, each in a fresh context (no profile, no cookies kept, downloads
refused, service workers blocked), each within ``browser.timeout``, with the
JavaScript heap of each renderer capped. The rendered DOM goes to the same
extraction as any fetched page.

The address guard applies to every request the page makes: each one is intercepted
and refused unless its host resolves only to addresses a fetch may reach (so a page
on a public host cannot make the browser fetch 127.0.0.1 or 169.254.169.254), and
only http(s) is let through. Chromium resolves names itself after the check, so a
name that changes its answer between the two (DNS rebinding) is the remaining gap;
``http.allowed_networks`` is still the only way to reach private addresses.

Playwright is an optional extra (``posting-monitor[browser]``) driving the system's
Chromium (Debian's ``chromium``) through ``executable_path``: nothing is downloaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from monitor.config import BrowserConfig
from monitor.errors import BlockedAddress, ConfigError, FetchTimeout, TransportError
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
        self.refused: list[str] = []
        """Requests a page tried and the guard refused (newest last, bounded)."""

    async def render(self, url: str) -> FetchResponse:
        """The page at ``url`` after its scripts ran, as a fetched HTML page."""
        started = time.perf_counter()
        async with self._slots:
            try:
                browser = await self._ensure_browser()
            except ConfigError as exc:  # uninstalled since the watch was added: a failed check
                raise TransportError(f"browser unavailable: {exc}", url=url) from exc
            context = await browser.new_context(
                accept_downloads=False,
                service_workers="block",
                user_agent=self._user_agent,
                java_script_enabled=True,
            )
            try:
                return await self._render_in(context, url, started)
            finally:
                await context.close()

    async def _render_in(self, context: Any, url: str, started: float) -> FetchResponse:
        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        await context.route("**/*", self._route)
        page = await context.new_page()
        limit = self._settings.timeout.total_seconds()
        try:
            response = await page.goto(url, wait_until="load", timeout=limit * 1000)
            await _settle(page, limit)
            html = await page.content()
        except PlaywrightTimeout as exc:
            raise FetchTimeout(f"the page did not render within {limit:g} s", url=url) from exc
        except PlaywrightError as exc:
            raise TransportError(f"browser: {_first_line(exc)}", url=url) from exc
        status = response.status if response is not None else 200
        fetched = FetchedPage(
            url=page.url, status=status, content_type="text/html", body=html.encode("utf-8")
        )
        latency_ms = round((time.perf_counter() - started) * 1000)
        return FetchResponse(
            page=fetched, not_modified=False, etag=None, last_modified=None, latency_ms=latency_ms
        )

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
        self.refused = [*self.refused[-99:], url]
        log.warning(
            "browser request refused: %s (%s)", url, reason, extra={"action": "browser_refused"}
        )
        await route.abort("blockedbyclient")

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
        args = [
            f"--js-flags=--max-old-space-size={self._settings.max_heap_mb}",
            "--disable-dev-shm-usage",
            "--disable-extensions",
            "--disable-background-networking",
            "--no-first-run",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.append("--no-sandbox")  # Chromium refuses to run its sandbox as root
        log.info("starting %s", executable, extra={"action": "browser_start"})
        return await self._playwright.chromium.launch(
            executable_path=str(executable), headless=True, args=args
        )

    async def aclose(self) -> None:
        if self._browser is not None:
            await self._browser.close()
            self._browser = None
        if self._playwright is not None:
            await self._playwright.stop()
            self._playwright = None


async def _settle(page: Any, limit: float) -> None:
    """Give the page's scripts time to fetch and draw the posting: network quiet for
    half a second, within a fifth of the time limit (pages that poll never go quiet)."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    with contextlib.suppress(PlaywrightTimeout):
        await page.wait_for_load_state("networkidle", timeout=max(limit / 5, 1) * 1000)


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
