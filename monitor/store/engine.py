"""Database engines and migrations: SQLite tuned for a daemon, PostgreSQL as is."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from monitor.errors import ConfigError, StoreError
from monitor.records import DaemonRecord
from monitor.store.db import Database
from monitor.store.processes import Processes

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).parent / "migrations"
SCHEMA_REVISION = "0018"
"""The newest migration's revision (a test holds it to Alembic's head). Knowing it
here lets a current database skip loading Alembic, which is a fifth of a second of
every command's start."""
SQLITE_BUSY_TIMEOUT_MS = 10_000


def create_db_engine(
    url: str, *, setting: str = "database.url", reads_only: bool = False
) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and BEGIN IMMEDIATE
    (except ``reads_only``: WAL readers never wait for the writer, and must not make it
    wait by taking its lock).

    ``setting`` names where the URL came from, for the error when its folder cannot be
    made (``data_dir`` for the default SQLite file)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        engine = create_engine(url, pool_pre_ping=True)
        event.listen(engine, "connect", _postgres_on_connect)
        return engine
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        folder = Path(parsed.database).parent
        if setting != "data_dir" and not folder.is_dir():
            # An explicit URL names where the database is; a typo must not make folders.
            raise ConfigError(f"the folder {str(folder)!r} does not exist", source=setting)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = (
                "it is a file, not a folder" if isinstance(exc, FileExistsError) else exc.strerror
            )
            raise ConfigError(
                f"cannot use {str(folder)!r} for the database: {reason or exc}", source=setting
            ) from exc
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_begin if reads_only else _sqlite_begin_immediate)
    return engine


def _postgres_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # psycopg prepares statements run often; PostgreSQL then switches them to a generic
    # plan, which for the claim query ("due and not leased", parameters that vary
    # widely) was 100 times slower than the plan made for the actual values.
    cursor = dbapi_connection.cursor()
    cursor.execute("SET plan_cache_mode = force_custom_plan")
    cursor.close()
    dbapi_connection.commit()


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite would defer it).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin_immediate(connection: Any) -> None:
    # A deferred transaction that reads then writes fails at once with "database is
    # locked" under concurrency; taking the write lock up front waits instead.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_begin(connection: Any) -> None:
    # A deferred transaction: one consistent snapshot for a page's queries, no lock.
    connection.exec_driver_sql("BEGIN")


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def require_database(url: str, *, setting: str) -> Engine:
    """For commands that only read: the engine of a database that exists at ``url``
    with a current schema; StoreError saying what to run otherwise. Creates nothing."""
    missing = "no database yet: run 'posting-monitor db upgrade' (or add a watch)"
    path = sqlite_file(url)
    if path is not None and not path.is_file():
        raise StoreError(f"{missing}; {setting} points to {path}")
    engine = create_db_engine(url, setting=setting)
    try:
        check_reachable(engine)
        current = current_revision(engine)
        if current is None:
            raise StoreError(missing)
        if current != SCHEMA_REVISION:
            raise StoreError(
                f"database schema is at revision {current}, this version needs "
                f"{SCHEMA_REVISION}: run 'posting-monitor db upgrade'"
            )
    except BaseException:
        engine.dispose()
        raise
    return engine


def probe_health(url: str, *, setting: str) -> list[DaemonRecord]:
    """The database as the ``health`` command checks it, on an engine of its own: there
    (a SQLite file), reachable and at the current schema; returns the processes that
    say they run. StoreError with the reason otherwise."""
    path = sqlite_file(url)
    if path is not None and not path.is_file():
        raise StoreError(f"unhealthy: no database yet at {path}")
    engine = create_db_engine(url, setting=setting)
    try:
        with engine.connect():
            pass
        current = current_revision(engine)
        if current != SCHEMA_REVISION:
            raise StoreError(
                f"database schema is at {current or 'nothing'}, expected {SCHEMA_REVISION}"
            )
        return Processes(Database(engine)).daemons(running_only=True)
    except SQLAlchemyError as exc:
        raise StoreError(f"database unreachable: {exc.__class__.__name__}") from exc
    finally:
        engine.dispose()


def check_reachable(engine: Engine) -> None:
    """Connect once, so an unreachable database is a configuration error naming
    ``database.url`` (password hidden) before anything else runs."""
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as exc:
        cause = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        where = engine.url.render_as_string(hide_password=True)
        raise ConfigError(
            f"cannot reach the database {where}: {cause}", source="database.url"
        ) from exc


def alembic_config(engine: Engine) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (idempotent)."""
    if revision == "head" and current_revision(engine) == SCHEMA_REVISION:
        return
    from alembic import command

    try:
        command.upgrade(alembic_config(engine), revision)
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        raise StoreError(f"migration failed: {exc.__class__.__name__}: {cause}") from exc


def current_revision(engine: Engine) -> str | None:
    """The schema's revision; None for a database Alembic never touched."""
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError:
        # No alembic_version table. (A database that cannot be reached failed
        # check_reachable first.)
        return None


def head_revision(engine: Engine) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
