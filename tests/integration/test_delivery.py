"""Outbox delivery through real channels: retries, give-up, retry by hand, test-notify."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner, Result

from monitor.app import App
from monitor.cli import cli
from monitor.config import MonitorConfig
from monitor.engines.oneshot import check_all
from monitor.testing import FrozenClock, PageServer
from tests.conftest import UNPACED, seed_text
from tests.peers import webhook_receiver

URL = "https://careers.example.com/jobs/backend-engineer"


def app_with_hook(db_url: str, port: int, **alerts: object) -> tuple[App, PageServer, FrozenClock]:
    server, clock = PageServer(), FrozenClock()
    config = MonitorConfig.model_validate({
        "database": {"url": db_url},
        "alerts": {"retry_base": "1m", **alerts},
        "channels": [{"name": "hook", "url": f"json://127.0.0.1:{port}/alerts"}],
        "watches": [{"url": URL}],
        "http": UNPACED,
    })  # fmt: skip
    app = App(config, transport=server.transport(), clock=clock)
    app.prepare()
    return app, server, clock


def make_one_change(app: App, server: PageServer, clock: FrozenClock) -> None:
    server.publish(URL, seed_text("stripe-backend-engineer.html"))
    asyncio.run(check_all(app))
    server.publish(URL, seed_text("stripe-backend-engineer.v2.html"))
    clock.advance(timedelta(hours=1))
    asyncio.run(check_all(app))


def test_a_channel_down_three_times_gets_the_alert_exactly_once(db_url: str) -> None:
    with webhook_receiver() as hook:
        hook.fail_first = 3
        app, server, clock = app_with_hook(db_url, hook.port)
        try:
            make_one_change(app, server, clock)  # attempt 1 fails inside check_all
            for minutes in (1, 2, 4, 8, 60, 600):  # backoff 1m, 2m, 4m ... then nothing is due
                clock.advance(timedelta(minutes=minutes))
                asyncio.run(app.deliver())
            (alert,) = app.store.outbox.alerts()
        finally:
            asyncio.run(app.aclose())
    assert hook.attempts == 4
    assert len(hook.posts) == 1
    assert (alert.status, alert.attempts) == ("sent", 4)


def test_give_up_then_list_failed_and_retry_from_the_cli(db_url: str, tmp_path: Path) -> None:
    with webhook_receiver() as hook:
        hook.status = 500
        app, server, clock = app_with_hook(db_url, hook.port, max_attempts=2)
        try:
            make_one_change(app, server, clock)
            clock.advance(timedelta(minutes=5))
            asyncio.run(app.deliver())
        finally:
            asyncio.run(app.aclose())
        config = tmp_path / "monitor.toml"
        config.write_text(
            f"[database]\nurl = '{db_url}'\n[[channels]]\nname = 'hook'\nurl = 'json://127.0.0.1:{hook.port}/alerts'\n",
            encoding="utf-8",
        )
        runner = CliRunner()
        listed = runner.invoke(cli, ["--config", str(config), "alerts", "list", "--failed"])
        assert "failed   hook" in listed.output
        assert "attempts 2" in listed.output
        assert "last error" in listed.output
        assert (
            "1 alert queued again"
            in runner.invoke(cli, ["--config", str(config), "alerts", "retry"]).output
        )
        hook.status = 200
        checked = runner.invoke(cli, ["--config", str(config), "check"])
        assert "alerts: 1 sent" in checked.output

        def cli_run(*args: str) -> Result:
            return runner.invoke(cli, ["--config", str(config), *args])

        again = cli_run("alerts", "retry", "1", "999")
        assert again.exit_code == 1
        assert "alert 1 is sent, not failed: left as it is" in again.output
        assert "no alert 999 (see 'posting-monitor alerts list')" in again.output
        assert "0 alerts queued again" in again.output
        assert (
            "no failed or pending alerts"
            in cli_run("alerts", "list", "--failed", "--pending").output
        )
        assert "sent     hook" in cli_run("alerts", "list", "--failed", "--sent").output
    assert len(hook.posts) == 1


def test_test_notify_reports_each_channel_and_masks_secrets(tmp_path: Path) -> None:
    with webhook_receiver() as good, webhook_receiver() as bad:
        bad.status = 500
        config = tmp_path / "monitor.toml"
        config.write_text(
            f"[[channels]]\nname = 'good'\nurl = 'json://user:pw-one@127.0.0.1:{good.port}/'\ntags = ['team']\n"
            f"[[channels]]\nname = 'bad'\nurl = 'json://user:pw-two@127.0.0.1:{bad.port}/'\ntags = ['team']\n",
            encoding="utf-8",
        )
        result = CliRunner().invoke(cli, ["--config", str(config), "test-notify", "team"])
    assert result.exit_code == 1
    assert "delivered  good" in result.output
    assert "FAILED     bad" in result.output
    assert "pw-one" not in result.output
    assert "pw-two" not in result.output
    assert good.posts[0]["title"].startswith("[test] ")
