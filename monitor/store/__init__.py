"""Persistence: tables, migrations and the repository that owns all SQL."""

from monitor.store.engine import create_db_engine, upgrade
from monitor.store.repository import (
    ChangeRecord,
    History,
    PostingState,
    QueuedAlert,
    Repository,
    Version,
    WatchRecord,
    WatchSpec,
)

__all__ = [
    "ChangeRecord",
    "History",
    "PostingState",
    "QueuedAlert",
    "Repository",
    "Version",
    "WatchRecord",
    "WatchSpec",
    "create_db_engine",
    "upgrade",
]
