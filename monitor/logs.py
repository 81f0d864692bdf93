"""Logging setup: readable text for people, one JSON object per line for containers.

Log calls carry ``extra={"action": ...}`` from a fixed vocabulary so logs can
be filtered by what happened rather than by message text.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

ACTIONS = frozenset(
    {
        "check",
        "check_failed",
        "check_crashed",
        "alert_sent",
        "alert_failed",
        "deliver",
        "daemon_start",
        "daemon_stop",
        "drain",
        "demo",
        "heartbeat",
        "host_paused",
        "pages_capped",
        "metrics",
        "write_failed",
        "reread",
        "start",
        "error",
        "web_stop",
        "web_refused",
        "browser_start",
        "browser_refused",
    }
)
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        payload.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def announce(message: str, *, fmt: str, action: str = "start", level: int = logging.INFO) -> None:
    """A line for whoever started the process (a banner, an error): as written, or in
    JSON mode one JSON object like every log line, so a log collector reads them all."""
    if fmt == "json":
        record = logging.makeLogRecord(
            {
                "name": "monitor.cli",
                "levelno": level,
                "levelname": logging.getLevelName(level),
                "msg": message,
                "action": action,
            }
        )
        sys.stderr.write(JsonFormatter().format(record) + "\n")
    else:
        sys.stderr.write(message + "\n")
    sys.stderr.flush()


def _still_running(record: logging.LogRecord) -> bool:
    return "maximum number of running instances reached" not in str(record.msg)


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Apprise logs service URLs at debug level; those can hold secrets.
    logging.getLogger("apprise").setLevel(max(logging.WARNING, root.level))
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, root.level))
    # A timer still running at its next turn (a dispatch working through a long queue)
    # is skipped by design (max_instances=1); APScheduler warns at each such turn.
    logging.getLogger("apscheduler.scheduler").addFilter(_still_running)
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
    # The queue library logs every job start, success and periodic deferral at INFO
    # (about 86 KB a minute from an idle worker), with its own `action` values.
    logging.getLogger("procrastinate").setLevel(max(logging.WARNING, root.level))
