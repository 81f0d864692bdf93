"""Persistence: SQL, one module per aggregate, behind one ``Store``.

``Store(engine).watches``, ``.postings``, ``.leases``, ``.outbox``, ``.processes`` and
``.maintenance`` write and read the tables (``tables.py``) and map rows to the values
of ``monitor.records`` and back; ``.views`` (``views.py``) is the read side the pages,
the API, the feeds and the ``status`` and ``history`` commands read through.
``Store.run`` runs a call on the one database thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from sqlalchemy import Engine

from monitor.store.db import Database
from monitor.store.engine import create_db_engine, upgrade
from monitor.store.leases import Leases
from monitor.store.maintenance import Maintenance
from monitor.store.outbox import Outbox
from monitor.store.postings import Postings
from monitor.store.processes import Processes
from monitor.store.views import Views
from monitor.store.watches import Watches

P = ParamSpec("P")
T = TypeVar("T")


class Store:
    """The aggregates over one database, and the thread their calls run on."""

    def __init__(self, engine: Engine) -> None:
        self.database = Database(engine)
        self.watches = Watches(self.database)
        self.postings = Postings(self.database)
        self.leases = Leases(self.database)
        self.outbox = Outbox(self.database)
        self.processes = Processes(self.database)
        self.maintenance = Maintenance(self.database)
        self.views = Views(self.database)

    @property
    def engine(self) -> Engine:
        return self.database.engine

    async def run(self, call: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a store call on the database thread: ``await store.run(f, *args, **kw)``."""
        return await self.database.run(call, *args, **kwargs)

    def close(self) -> None:
        """Let the database thread go (after its calls end); the engine stays open."""
        self.database.close()


__all__ = ["Database", "Store", "create_db_engine", "upgrade"]
