"""A renderer stuck past its deadline is reported: the heartbeat records it, ``health``
fails on it (and passes again once it clears), ``status``, the dashboard's health page
and ``/metrics`` show it."""

from __future__ import annotations

import io
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from prometheus_client import generate_latest

from monitor.app import App
from monitor.cli import cli
from monitor.config import load_config
from monitor.engines.local import LocalEngine
from monitor.testing import FakeBrowser
from monitor.web.app import close_web_app, create_web_app

pytestmark = pytest.mark.anyio
STUCK = "renderer stuck: 1 of 1 browser page slots held for 95 s"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "monitor.toml"
    path.write_text(f"data_dir = '{tmp_path}'\n", encoding="utf-8")
    return path


@pytest.fixture
async def daemon(config_file: Path) -> AsyncIterator[tuple[App, LocalEngine, FakeBrowser]]:
    browser = FakeBrowser(slots=1, deadline_seconds=30)
    app = App(load_config(config_file), console=io.StringIO(), browser=browser)
    app.prepare()
    engine = LocalEngine(app)
    app.store.processes.daemon_started(
        engine.daemon_id, host=socket.gethostname(), pid=os.getpid(), now=app.clock.now()
    )
    try:
        yield app, engine, browser
    finally:
        await app.aclose()


def health(config_file: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--config", str(config_file), "health", "--require-daemon"])
    return result.exit_code, result.output


async def test_health_fails_while_the_renderer_is_stuck_and_passes_once_it_is_not(
    config_file: Path, daemon: tuple[App, LocalEngine, FakeBrowser]
) -> None:
    _, engine, browser = daemon
    browser.hang(40.0)  # past its deadline, still within the time closing may take
    await engine.heartbeat()
    assert health(config_file)[0] == 0

    browser.hang(95.0)
    await engine.heartbeat()
    code, output = health(config_file)
    assert code == 1
    assert f"unhealthy: daemon pid {os.getpid()}: {STUCK}" in output
    assert "no page can render" in output
    status = CliRunner().invoke(cli, ["--config", str(config_file), "status"])
    assert STUCK in status.output

    browser.hang()  # the render ended after all
    await engine.heartbeat()
    code, output = health(config_file)
    assert code == 0, output
    assert "stuck" not in output


async def test_the_health_page_and_metrics_show_a_stuck_renderer(
    daemon: tuple[App, LocalEngine, FakeBrowser],
) -> None:
    app, engine, browser = daemon
    browser.hang(95.0, 3.0)
    browser.ended = {"deadline": 4, "restart": 1}
    await engine.heartbeat()
    metrics = generate_latest(app.metrics.registry).decode()
    assert "posting_monitor_renders_overdue 1.0" in metrics
    assert "posting_monitor_renders_in_flight 2.0" in metrics
    assert "posting_monitor_render_oldest_seconds 95.0" in metrics
    assert 'posting_monitor_renders_ended_total{reason="deadline"} 4.0' in metrics
    assert 'posting_monitor_renders_ended_total{reason="memory"} 0.0' in metrics
    assert 'posting_monitor_renders_ended_total{reason="restart"} 1.0' in metrics

    web = create_web_app(app)
    try:
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            page = (await client.get("/health")).text
            api = (await client.get("/api/v1/health")).json()
    finally:
        close_web_app(web)
    assert STUCK in page
    (process,) = api["processes"]
    assert process["trouble"].startswith(STUCK)
