"""``posting-monitor demo``: the whole product, offline, in one command.

Serves the sample postings from ``seeds/`` on 127.0.0.1, watches one on a fresh
SQLite database, publishes the revised version, and shows the alerts.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import TextIO

from pydantic import SecretStr

from monitor.app import App
from monitor.config import (
    ChannelConfig,
    DatabaseConfig,
    HttpConfig,
    MonitorConfig,
)
from monitor.engines.oneshot import check_all
from monitor.errors import MonitorError
from monitor.present import posting_lines

POSTING_PATH = "/jobs/stripe/backend-engineer-core-technology"
FIRST_VERSION = "stripe-backend-engineer.html"
REVISED_VERSION = "stripe-backend-engineer.v2.html"


def seeds_dir() -> Path:
    """The sample postings: packaged in the wheel, or ``seeds/`` in a checkout."""
    packaged = Path(str(resources.files("monitor"))) / "_seeds"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent / "seeds"


class SeedServer:
    """A local HTTP server that serves one seed file at ``POSTING_PATH``."""

    def __init__(self, seeds: Path, first: str) -> None:
        self._seeds = seeds
        self.current = first
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{POSTING_PATH}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != POSTING_PATH:
                    self.send_error(404)
                    return
                body = (server._seeds / server.current).read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                del format, args  # keep the demo's output about postings, not requests

        return Handler

    def __enter__(self) -> SeedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def demo_config(workdir: Path, url: str) -> MonitorConfig:
    return MonitorConfig(
        data_dir=workdir,
        database=DatabaseConfig(url=f"sqlite:///{workdir / 'demo.db'}"),
        # The demo serves its sample posting on this machine; nothing else may be.
        http=HttpConfig(allowed_networks=("127.0.0.1/32",)),
        channels=(ChannelConfig(name="console", url=SecretStr("console://")),),
    )


async def run_demo(
    workdir: Path, out: TextIO, *, kept: bool = False, command: str = "posting-monitor"
) -> int:
    """Run the demo; returns the number of alerts delivered."""
    with SeedServer(seeds_dir(), FIRST_VERSION) as server:
        async with _app(demo_config(workdir, server.url), out) as app:
            # Added as `watch add` would (not listed in a configuration): a later
            # `check` or `run` with the user's configuration keeps it (W24).
            app.watches.add(server.url, interval=timedelta(hours=1))
            return await _story(app, server, workdir, out, kept=kept, command=command)


async def _story(
    app: App, server: SeedServer, workdir: Path, out: TextIO, *, kept: bool, command: str
) -> int:
    out.write(f"Serving a sample posting at {server.url}\nDatabase: {workdir / 'demo.db'}\n\n")
    out.write("1. First check: Posting Monitor reads the posting and stores it.\n")
    await check_all(app)
    state = await app.store.run(app.store.postings.get_posting, server.url)
    if state.current is None:
        raise MonitorError(f"the demo's first check failed: {state.last_error}")
    out.write("\n".join(f"   {line}" for line in posting_lines(state.current)) + "\n\n")
    out.write("2. The employer edits the posting (pay, requirements, remote policy).\n")
    server.current = REVISED_VERSION
    out.write("3. Second check: only what changed is reported, on the console channel:\n")
    report = await check_all(app)
    history = await app.store.run(app.store.views.history, server.url)
    out.write(
        f"\n4. History kept: {len(history.versions)} versions and {len(history.changes)} field changes.\n"
    )
    if kept:
        out.write(
            f"   See it with: MONITOR_DATABASE__URL=sqlite:///{workdir / 'demo.db'} "
            f"{command} history {state.id}\n"
        )
    return report.delivery.sent


@asynccontextmanager
async def _app(config: MonitorConfig, out: TextIO) -> AsyncIterator[App]:
    app = App(config, console=out)
    try:
        app.prepare()
        yield app
    finally:
        await app.aclose()
