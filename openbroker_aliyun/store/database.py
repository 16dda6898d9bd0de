"""Connecting to the state store's database: SQLite, PostgreSQL or MySQL/MariaDB.

Each dialect gets what the engine's concurrency relies on:

* SQLite: WAL (readers never wait for the writer), a busy timeout, foreign keys, and
  every read-write transaction opened with ``BEGIN IMMEDIATE``, so transactions take the
  write lock up front and queue on the busy timeout instead of failing on a lock upgrade.
  Read-only transactions (``make_reader``) run on connections of their own, opened with a
  plain, deferred ``BEGIN``: they take no lock, so in WAL mode they wait neither for the
  writer nor for each other.
* PostgreSQL and MySQL: ``READ COMMITTED`` (on InnoDB this also drops gap locks, which
  would turn two concurrent inserts of the same id into a deadlock) and pre-ping, so a
  restarted database server costs one failed check, not a failed request. Read-only
  transactions share the pool (``read_only_options``).

Drivers: ``postgresql://`` means psycopg 3, ``mysql://`` PyMySQL and ``sqlite://`` the
standard library's sqlite3, the drivers this package installs.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError
from sqlalchemy.pool import StaticPool

from openbroker_aliyun.forking import on_fork_in_child
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


class ImmediateSQLiteDialect(SQLiteDialect_pysqlite):
    """sqlite3 opening each transaction with ``BEGIN IMMEDIATE`` (the write lock up front).

    In the dialect rather than in a "begin" event listener: any connection event listener
    makes SQLAlchemy dispatch events around every statement on the engine, which doubled
    the cost of a short query.
    """

    supports_statement_cache = True

    def do_begin(self, dbapi_connection: Any) -> None:
        _execute(dbapi_connection, "BEGIN IMMEDIATE")


class DeferredSQLiteDialect(SQLiteDialect_pysqlite):
    """sqlite3 opening each transaction with a plain ``BEGIN``: for read-only transactions."""

    supports_statement_cache = True

    def do_begin(self, dbapi_connection: Any) -> None:
        _execute(dbapi_connection, "BEGIN")


def _execute(dbapi_connection: Any, sql: str) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(sql)
    finally:
        cursor.close()


_SQLITE_WRITER = "sqlite+openbroker_immediate"
_SQLITE_READER = "sqlite+openbroker_deferred"
registry.register("sqlite.openbroker_immediate", __name__, ImmediateSQLiteDialect.__name__)
registry.register("sqlite.openbroker_deferred", __name__, DeferredSQLiteDialect.__name__)


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
    if backend == "sqlite" and parsed.drivername not in ("sqlite", "sqlite+pysqlite", _SQLITE_WRITER):
        raise StoreConfigError(f"state store: SQLite through the sqlite3 module, not {parsed.drivername!r}")
    return parsed


def make_engine(url: str, *, pool_size: int = 10, max_overflow: int = 20) -> Engine:
    """A SQLAlchemy engine for the state store at ``url``.

    After a fork (gunicorn with ``--preload``) the child drops the connections it
    inherited instead of sharing them with the parent.
    """
    parsed = parse_url(url)
    # hide_parameters: SQL errors and logs must not show values (parameters in clear
    # text when the operator allowed it, ids people did not mean to log).
    options: dict[str, Any] = {"hide_parameters": True}
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite_engine(parsed.set(drivername=_SQLITE_WRITER), options)
    else:
        options.update(
            pool_pre_ping=True,
            pool_size=pool_size,
            max_overflow=max_overflow,
            isolation_level="READ COMMITTED",
        )
        engine = create_engine(parsed, **options)
    _forget_inherited_connections(engine)
    return engine


def make_reader(writer: Engine, *, pool_size: int = 10, max_overflow: int = 20) -> Engine:
    """The engine for read-only transactions on ``writer``'s database.

    SQLite (a file): an engine of its own, whose transactions begin deferred. Otherwise
    ``writer`` itself: an in-memory SQLite database exists on one connection only, and
    PostgreSQL and MySQL need no other connections for reads (see ``read_only_options``).
    """
    url = writer.url
    if url.get_backend_name() != "sqlite" or _in_memory(url):
        return writer
    reader = _sqlite_engine(
        url.set(drivername=_SQLITE_READER),
        {"hide_parameters": True, "pool_size": pool_size, "max_overflow": max_overflow},
    )
    _forget_inherited_connections(reader)
    return reader


def read_only_options(engine: Engine) -> dict[str, Any]:
    """Execution options making a connection's next transaction read-only.

    PostgreSQL: ``BEGIN READ ONLY`` (psycopg's ``read_only`` flag; no extra round trip).
    MySQL: none. InnoDB runs a transaction that only reads without a transaction id or
    row locks already, and ``START TRANSACTION READ ONLY`` would cost a round trip.
    SQLite: none; the reader engine's deferred ``BEGIN`` takes no lock.
    """
    if engine.dialect.name == "postgresql":
        return {"postgresql_readonly": True}
    return {}


def _in_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:")


def _forget_inherited_connections(engine: Engine) -> None:
    # A forked child drops the connections it inherited (without closing them, which would
    # disturb the parent's use of them) and opens its own.
    if not isinstance(engine.pool, StaticPool):
        on_fork_in_child(engine, lambda inherited: inherited.dispose(close=False))


def _sqlite_engine(url: URL, options: dict[str, Any]) -> Engine:
    in_memory = _in_memory(url)
    options["connect_args"] = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT}
    if in_memory:
        # One shared connection, or every pooled connection would see its own database.
        options["poolclass"] = StaticPool
        options.pop("pool_size", None)
        options.pop("max_overflow", None)
    engine = create_engine(url, **options)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The dialect's do_begin opens transactions, not the driver (which would run DDL
        # outside any transaction, and reads outside of one).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT * 1000)}")
            if not in_memory:
                _use_wal(cursor)
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    return engine


def _use_wal(cursor: sqlite3.Cursor) -> None:
    """Put the database file in WAL mode (a setting of the file, kept once made).

    Switching a new file takes an exclusive lock for which SQLite does not wait on the busy
    timeout: when several processes (or threads) open a new file at once, all but one get
    "database is locked" at once. So the switch is tried again, until the file is in WAL
    mode (whoever switched it) or the busy timeout has passed.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")  # a no-op once the file is in WAL mode
            return
        except sqlite3.OperationalError as error:
            busy = getattr(error, "sqlite_errorcode", None)
            if busy is None or busy & 0xFF != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
        time.sleep(0.01)


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
