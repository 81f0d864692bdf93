"""The command line: a thin layer over ``monitor.app``.

Every ``MonitorError`` becomes one line on stderr and a non-zero exit code
(2 for configuration errors), never a traceback.

The root group and what the commands share are in ``base``; the commands, one module
per group: ``running`` (check, run, worker, web, demo), ``watches`` (watch ...),
``reports`` (status, history, export, alerts ...), ``admin`` (db ..., health) and
``developer`` (test-notify, features, test-source), ``discovery`` (discover). They are registered here, so no
command module imports this one.
"""

from __future__ import annotations

from monitor.cli import admin, developer, discovery, reports, running, watches
from monitor.cli.base import cli

__all__ = ["cli", "main"]

cli.add_command(running.check)
cli.add_command(running.run)
cli.add_command(running.worker)
cli.add_command(running.web)
cli.add_command(watches.watch)
cli.add_command(reports.history)
cli.add_command(running.demo)
cli.add_command(reports.alerts)
cli.add_command(developer.test_notify)
cli.add_command(admin.db)
cli.add_command(admin.health)
cli.add_command(reports.export)
cli.add_command(reports.status)
cli.add_command(developer.features)
cli.add_command(developer.test_source)
cli.add_command(discovery.discover)


def main() -> None:
    cli(prog_name="posting-monitor")
