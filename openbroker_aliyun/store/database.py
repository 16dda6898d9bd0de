"""Connecting to the state store's database: SQLite, PostgreSQL or MySQL/MariaDB.

Each dialect gets what the engine's concurrency relies on:

* SQLite: WAL (readers never wait for the writer), a busy timeout, foreign keys, and
  every transaction opened with ``BEGIN IMMEDIATE``, so transactions take the write lock
  up front and queue on the busy timeout instead of failing on a lock upgrade.
* PostgreSQL and MySQL: ``READ COMMITTED`` (on InnoDB this also drops gap locks, which
  would turn two concurrent inserts of the same id into a deadlock) and pre-ping, so a
  restarted database server costs one failed check, not a failed request.

Drivers: ``postgresql://`` means psycopg 3 and ``mysql://`` means PyMySQL, the drivers
this package installs.
"""

from __future__ import annotations

import os
import weakref
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError
from sqlalchemy.pool import StaticPool

from openbroker_aliyun.store.errors import StoreConfigError

#: Seconds a SQLite transaction waits for the write lock before failing.
SQLITE_BUSY_TIMEOUT = 30.0

_DEFAULT_DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
}
# Deadlock, lock wait timeout (MySQL); serialization failure, deadlock (PostgreSQL).
_MYSQL_RETRYABLE = {1205, 1213}
_PG_RETRYABLE = {"40001", "40P01"}


def parse_url(url: str) -> URL:
    """The SQLAlchemy URL of a state store, with this package's default drivers."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        # The URL may hold a password: do not quote it.
        raise StoreConfigError(
            "the state store URL is not a database URL (e.g. sqlite:///openbroker.db, "
            "postgresql://user:password@host/db, mysql://user:password@host/db)"
        ) from None
    driver = _DEFAULT_DRIVERS.get(parsed.drivername)
    if driver:
        parsed = parsed.set(drivername=driver)
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql", "mysql", "mariadb"):
        raise StoreConfigError(f"state store: SQLite, PostgreSQL or MySQL/MariaDB expected, not {backend!r}")
    return parsed


def make_engine(url: str, *, pool_size: int = 10, max_overflow: int = 20) -> Engine:
    """A SQLAlchemy engine for the state store at ``url``.

    After a fork (gunicorn with ``--preload``) the child drops the connections it
    inherited instead of sharing them with the parent.
    """
    engine = _make_engine(parse_url(url), pool_size=pool_size, max_overflow=max_overflow)
    if not isinstance(engine.pool, StaticPool):
        reference = weakref.ref(engine)

        def forget_inherited_connections() -> None:
            inherited = reference()
            if inherited is not None:
                inherited.dispose(close=False)

        os.register_at_fork(after_in_child=forget_inherited_connections)
    return engine


def _make_engine(parsed: URL, *, pool_size: int, max_overflow: int) -> Engine:
    # hide_parameters: SQL errors and logs must not show values (parameters in clear
    # text when the operator allowed it, ids people did not mean to log).
    options: dict[str, Any] = {"hide_parameters": True}
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, options)
    options.update(
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=max_overflow,
        isolation_level="READ COMMITTED",
    )
    return create_engine(parsed, **options)


def _sqlite_engine(url: URL, options: dict[str, Any]) -> Engine:
    in_memory = url.database in (None, "", ":memory:")
    options["connect_args"] = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT}
    if in_memory:
        # One shared connection, or every pooled connection would see its own database.
        options["poolclass"] = StaticPool
    engine = create_engine(url, **options)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below open transactions, not the driver (which
        # would run DDL outside any transaction).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT * 1000)}")
            if not in_memory:
                cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def is_retryable(error: BaseException) -> bool:
    """True for errors that a repeat of the whole transaction can get past.

    A unique-key violation (two requests inserting the same id at once: the repeat sees
    the other's row), a deadlock, a lock wait timeout, a serialization failure.
    """
    if isinstance(error, IntegrityError):
        return True
    if not isinstance(error, DBAPIError):
        return False
    orig = error.orig
    code = getattr(orig, "sqlstate", None)  # psycopg 3
    if code in _PG_RETRYABLE:
        return True
    args: tuple[Any, ...] = getattr(orig, "args", ())
    return bool(args) and args[0] in _MYSQL_RETRYABLE
