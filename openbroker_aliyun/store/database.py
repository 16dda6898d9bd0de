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
  transactions share the pool (``read_only_options``). A connection attempt gives up
  after ``CONNECT_TIMEOUT`` seconds (libpq would wait for as long as the network does),
  unless the URL sets its own.
* MySQL: every session runs in strict mode (``STRICT_ALL_TABLES`` added to the server's
  ``sql_mode``), so a value too long for its column is an error, never silently cut
  (a cut id would name another instance, or none).

``store_error`` turns what SQLAlchemy and the drivers raise into the store's own errors
(``openbroker_aliyun.store.errors``): unreachable, a value the database refuses, or
another failure.

Drivers: ``postgresql://`` means psycopg 3, ``mysql://`` PyMySQL and ``sqlite://`` the
standard library's sqlite3, the drivers this package installs.
"""

from __future__ import annotations

import re
import sqlite3
import time
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DataError,
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import StaticPool

from openbroker_aliyun.forking import on_fork_in_child
from openbroker_aliyun.store.errors import (
    StoreConfigError,
    StoreDatabaseError,
    StoreFailure,
    StoreUnavailable,
    StoreValueError,
)

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
# Values the database refuses. PostgreSQL: class 22 (data exception: too long, NUL in
# text, bad encoding) and 54000 (an index row too large), which psycopg raises as
# DataError and OperationalError. MySQL: PyMySQL raises DataError for most, but
# OperationalError for the numbers it does not know (1292 incorrect value, 1300 invalid
# character string, 1367 illegal value).
_PG_VALUE_CLASS, _PG_VALUE_STATES = "22", {"54000"}
_MYSQL_VALUE_ERRORS = {1264, 1265, 1292, 1300, 1366, 1367, 1406}
# The database cannot serve now. PostgreSQL: every OperationalError but the values above
# (connection, too many connections, shutdown, timeouts, lock and serialization
# failures). MySQL, whose OperationalError also holds errors of the statement itself
# (1054 unknown column): the client's own errors (2000-2999: cannot connect, server gone,
# connection lost) and these of the server: access denied or unknown database (1044,
# 1045, 1049), bad handshake or host refused (1043, 1129, 1130), too many connections
# (1040), shutdown (1053), connection aborted, killed or timed out (1152, 1158-1161,
# 1927, 4031), lock wait timeout and deadlock (1205, 1213), read-only (1290, 1836:
# a failover), statement interrupted or timed out (1317, 1969, 3024). SQLite: busy,
# locked, out of memory, read-only, interrupted, I/O error, disk full, cannot open,
# locking protocol (not 1, "no such table" and other errors of the statement).
_MYSQL_CLIENT_ERRORS = range(2000, 3000)
_MYSQL_UNAVAILABLE = {1040, 1043, 1044, 1045, 1049, 1053, 1129, 1130, 1152, 1158, 1159, 1160, 1161}
_MYSQL_UNAVAILABLE |= {1205, 1213, 1290, 1317, 1836, 1927, 1969, 3024, 4031}
_SQLITE_UNAVAILABLE = {5, 6, 7, 8, 9, 10, 13, 14, 15}

#: Seconds a new connection to PostgreSQL or MySQL may take before the attempt fails.
CONNECT_TIMEOUT = 10
# Appended to the server's sql_mode in every MySQL session (a repeat is harmless).
_MYSQL_STRICT = "SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@SESSION.sql_mode, ''), 'STRICT_ALL_TABLES')"


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
            connect_args=_server_connect_args(parsed),
        )
        engine = create_engine(parsed, **options)
    _forget_inherited_connections(engine)
    return engine


def _server_connect_args(url: URL) -> dict[str, Any]:
    """The driver arguments PostgreSQL and MySQL connections get, unless the URL sets them."""
    wanted: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT}
    if url.get_backend_name() in ("mysql", "mariadb"):
        wanted["init_command"] = _MYSQL_STRICT
    return {name: value for name, value in wanted.items() if name not in url.query}


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
    return _mysql_number(orig) in _MYSQL_RETRYABLE


def store_error(error: SQLAlchemyError | UnicodeError) -> StoreDatabaseError:
    """The store's own error for what a statement raised (SQLAlchemy's, or a driver's
    ``UnicodeError`` for text it cannot encode, such as a lone surrogate).

    Unreachable: a connection that failed, was lost or was invalidated, a pool with no
    connection to give, and the errors listed above (server shutting down, too many
    connections, a lock wait timeout or a deadlock the transaction's repeats did not get
    past). A refused value: ``DataError`` and the codes above. Anything else (a statement
    the schema does not match): ``StoreFailure``.
    """
    if isinstance(error, UnicodeError):
        return StoreValueError(cause=_type_name(error))
    if isinstance(error, DBAPIError):
        statement, table = _statement_of(error.statement)
        orig = error.orig
        facts = {"statement": statement, "table": table, "cause": _type_name(orig), "code": _code(orig)}
        if isinstance(error, DataError) or _refuses_value(orig):
            return StoreValueError(**facts)
        if _unreachable(error):
            return StoreUnavailable(**facts)
        return StoreFailure(**facts)
    if isinstance(error, PoolTimeout | DisconnectionError):
        return StoreUnavailable(cause=_type_name(error))
    return StoreFailure(cause=_type_name(error))


def _unreachable(error: DBAPIError) -> bool:
    if error.connection_invalidated:  # SQLAlchemy's dialect knew it for a lost connection
        return True
    orig = error.orig
    if isinstance(orig, sqlite3.Error):
        code = getattr(orig, "sqlite_errorcode", None)
        return isinstance(code, int) and code & 0xFF in _SQLITE_UNAVAILABLE
    if not isinstance(error, OperationalError | InterfaceError):
        return False
    number = _mysql_number(orig)
    if number is None:  # psycopg
        return True
    return isinstance(error, InterfaceError) or number in _MYSQL_CLIENT_ERRORS or number in _MYSQL_UNAVAILABLE


def _refuses_value(orig: BaseException | None) -> bool:
    code = getattr(orig, "sqlstate", None)  # psycopg 3
    if isinstance(code, str):
        return code.startswith(_PG_VALUE_CLASS) or code in _PG_VALUE_STATES
    return _mysql_number(orig) in _MYSQL_VALUE_ERRORS


def _mysql_number(orig: BaseException | None) -> int | None:
    """PyMySQL's error number (its first argument); None for other drivers' errors."""
    args: tuple[Any, ...] = getattr(orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def _code(orig: BaseException | None) -> str | None:
    """The driver's error code: SQLSTATE (psycopg), error number (PyMySQL), name (sqlite3)."""
    code = getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorname", None) or _mysql_number(orig)
    return None if code is None else str(code)


def _statement_of(sql: str | None) -> tuple[str | None, str | None]:
    """The kind of a statement and the first store table it names (never a value)."""
    if not sql:
        return None, None
    words = sql.split(None, 1)
    table = re.search(r"\bosb_[a-z_]+", sql)
    return words[0].upper() if words else None, table.group(0) if table else None


def _type_name(error: BaseException | None) -> str:
    return f"{type(error).__module__}.{type(error).__qualname__}"
