"""The database: one engine, transactions on it, and the one thread its calls run on.

Every public store method is one transaction (``transaction``); a store module never
opens one inside another's: writes across aggregates take the caller's connection.
Database calls from async code run on one dedicated thread (``run``), so the event
loop never blocks on them and SQLite sees one writer at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from typing import ParamSpec, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from monitor.errors import StoreError

P = ParamSpec("P")
T = TypeVar("T")


class Database:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="monitor-db")

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction, committed when the block ends; a database error is a
        ``StoreError``."""
        try:
            with self.engine.begin() as connection:
                yield connection
        except SQLAlchemyError as exc:
            raise StoreError(f"database error: {exc.__class__.__name__}: {_short(exc)}") from exc

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reading (no transaction to commit)."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"database read failed: {type(exc).__name__}") from exc

    async def run(self, call: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``call(*args, **kwargs)`` on the database thread."""
        return await asyncio.get_running_loop().run_in_executor(
            self._thread, partial(call, *args, **kwargs)
        )

    def close(self) -> None:
        """Wait for the database thread's calls to end, and let it go."""
        self._thread.shutdown(wait=True)


def _short(exc: SQLAlchemyError) -> str:
    return str(getattr(exc, "orig", None) or exc).splitlines()[0]
