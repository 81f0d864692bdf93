"""Every start syncs the configuration's watches; one synced before, with no watch
written since, costs a single read."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

import monitor.watches
from monitor.app import App
from monitor.config import MonitorConfig
from monitor.records import WatchSpec
from monitor.testing import FrozenClock, RecordingNotifier
from monitor.watches import watches_digest

URLS = [f"https://jobs.example.com/jobs/{n}" for n in range(3)]


def config(db_url: str, **watch: Any) -> MonitorConfig:
    if "cron" not in watch:
        watch.setdefault("interval", "2h")
    return MonitorConfig.model_validate(
        {
            "database": {"url": db_url},
            "watches": [{"url": url, **watch} for url in URLS],
        }
    )


def started(cfg: MonitorConfig) -> App:
    app = App(cfg, notifier=RecordingNotifier(), clock=FrozenClock())
    app.prepare()
    return app


def statements_of(app: App) -> list[str]:
    seen: list[str] = []
    event.listen(app.engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen


def intervals(app: App) -> dict[str, timedelta]:
    return {w.url: w.interval for w in app.store.watches.list_watches()}


def test_a_configuration_synced_before_costs_one_read(db_url: str) -> None:
    first = started(config(db_url))
    second = App(config(db_url), notifier=RecordingNotifier(), clock=FrozenClock())
    seen = statements_of(second)
    second.prepare()
    touching_watches = [s for s in seen if "watches" in s.split("meta")[0]]
    assert touching_watches == []
    assert any("FROM meta" in s for s in seen)
    assert intervals(second) == dict.fromkeys(URLS, timedelta(hours=2))
    for app in (first, second):
        app.engine.dispose()


def test_a_changed_configuration_is_synced(db_url: str) -> None:
    started(config(db_url)).engine.dispose()
    app = started(config(db_url, interval="3h"))
    assert intervals(app) == dict.fromkeys(URLS, timedelta(hours=3))
    app.engine.dispose()


def test_a_configured_watch_removed_by_command_is_back_at_the_next_start(db_url: str) -> None:
    app = started(config(db_url))
    app.store.watches.remove_watch(URLS[0], now=app.clock.now())
    assert URLS[0] not in intervals(app)
    again = started(config(db_url))
    assert intervals(again) == dict.fromkeys(URLS, timedelta(hours=2))
    for each in (app, again):
        each.engine.dispose()


def test_a_configured_watch_edited_by_command_is_configured_again_at_the_next_start(
    db_url: str,
) -> None:
    app = started(config(db_url))
    edited = WatchSpec(
        url=URLS[1], source_kind="html", source_id=URLS[1], interval=timedelta(minutes=30)
    )
    app.store.watches.add_watch(edited, origin="cli", now=app.clock.now())
    assert intervals(app)[URLS[1]] == timedelta(minutes=30)
    again = started(config(db_url))
    assert intervals(again)[URLS[1]] == timedelta(hours=2)
    for each in (app, again):
        each.engine.dispose()


def test_the_digest_covers_every_stored_setting_and_the_version(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = config(sqlite_url).watches
    variants = [
        config(sqlite_url, interval="3h").watches,
        config(sqlite_url, cron="0 9 * * *").watches,
        config(sqlite_url, filters={"title": ["engineer"]}).watches,
        base[:2],
        tuple(reversed(base)),
    ]
    digest = watches_digest(base)
    assert watches_digest(config(sqlite_url).watches) == digest
    assert all(watches_digest(v) != digest for v in variants)
    monkeypatch.setattr(monitor.watches, "__version__", "99.0.0")
    assert watches_digest(base) != digest


def test_processes_starting_together_sync_the_same_watches_once(db_url: str) -> None:
    many = MonitorConfig.model_validate(
        {
            "database": {"url": db_url},
            "watches": [{"url": f"https://jobs.example.com/jobs/{n}"} for n in range(300)],
        }
    )
    started(MonitorConfig.model_validate({"database": {"url": db_url}})).engine.dispose()
    apps = [App(many, notifier=RecordingNotifier(), clock=FrozenClock()) for _ in range(3)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        for done in [pool.submit(app.prepare) for app in apps]:
            done.result()  # before the lock: IntegrityError on uq_watches_url
    assert len(apps[0].store.watches.list_watches()) == 300
    for app in apps:
        app.engine.dispose()
