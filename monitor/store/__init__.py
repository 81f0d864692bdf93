"""Persistence: tables, migrations and the repository that owns all SQL."""

from monitor.store.engine import create_db_engine, upgrade
from monitor.store.repository import Repository

__all__ = [
    "Repository",
    "create_db_engine",
    "upgrade",
]
