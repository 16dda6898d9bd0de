"""One read statement straight through the database driver, for the hottest request.

SQLAlchemy's execution of a statement (a ``Connection``, its transaction, an execution
context, a result object) costs around a hundred microseconds; the lookup behind
last_operation costs the database a few. Platforms poll last_operation every few
seconds for every operation in flight, so that one statement runs the way SQLAlchemy
itself runs it underneath: compiled once by SQLAlchemy for the engine's dialect, with
the driver's own cursor. Driver errors come out as SQLAlchemy's exceptions, with the
parameters hidden, and a connection the database dropped is invalidated, as SQLAlchemy
would do; so does a failure to get a connection at all (the database is down), which
the pool raises as the driver's own error. The store turns them into its own errors.

Where the connection comes from:

- PostgreSQL, MySQL, an in-memory SQLite database: the engine's pool (pre-ping
  included), as for every other statement.
- A SQLite file: connections of the lookups' own (``KeptConnections``). The pool's
  checkout and return (events, a reset on return, a queue behind a lock) cost more than
  the lookup itself, and buy nothing here: a file's connection never goes stale, and a
  lookup leaves no transaction to reset.

Only for a single ``SELECT`` of columns whose driver values need no conversion beyond
what the caller does: a single statement needs no explicit transaction to be consistent
(SQLite runs it in autocommit mode, which in WAL mode takes no lock; PostgreSQL and
MySQL end the driver's implicit transaction right after it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import BindParameter, Engine, Select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool

from openbroker_aliyun.forking import on_fork_in_child


class KeptConnections:
    """Driver connections to a SQLite file, kept outside the engine's pool.

    A list used as a stack: ``pop`` and ``append`` are atomic, so threads share it without
    a lock. It holds at most as many connections as lookups ever ran at once in this
    process (each one was opened because none was idle). The connections come from the
    engine's pool once (so its ``connect`` event set them up: autocommit mode, WAL, busy
    timeout) and are then detached from it.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._idle: list[Any] = []
        on_fork_in_child(self, KeptConnections._forget_inherited)

    @staticmethod
    def suit(engine: Engine) -> bool:
        """True when ``engine`` is one whose lookups should keep their own connections."""
        return engine.dialect.name == "sqlite" and not isinstance(engine.pool, StaticPool)

    def take(self) -> Any:
        """An idle connection, or a new one."""
        try:
            return self._idle.pop()
        except IndexError:
            pooled = self._engine.raw_connection()
            pooled.detach()
            return pooled.dbapi_connection

    def _forget_inherited(self) -> None:
        self._idle = []

    def give_back(self, connection: Any) -> None:
        self._idle.append(connection)

    def close(self) -> None:
        """Close the idle connections (those in use close when their lookup ends)."""
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


def _plain(bind: BindParameter[Any], engine: Engine) -> bool:
    """True for a parameter with no value of its own whose value the driver takes as is."""
    processor = bind.type.dialect_impl(engine.dialect).bind_processor(engine.dialect)
    return bind.value is None and bind.callable is None and not bind.expanding and processor is None


class DirectQuery:
    """A ``SELECT`` compiled once for ``engine``, run on a driver connection.

    ``kept``: the connections to run it on, for an engine ``KeptConnections.suit``;
    otherwise (None) the engine's pool.
    """

    def __init__(self, engine: Engine, statement: Select[Any], kept: KeptConnections | None = None) -> None:
        compiled = statement.compile(dialect=engine.dialect)
        self._engine = engine
        self._kept = kept
        self._compiled = compiled
        self._sql = compiled.string
        # Positional drivers (sqlite3's "?", PyMySQL's "%s") take a tuple in this order.
        self._positions: Sequence[str] | None = compiled.positiontup if compiled.positional else None
        # When every parameter is one the caller names and the driver takes as it is (no
        # type processing), the tuple is built straight from the caller's values.
        self._plain = self._positions is not None and all(
            _plain(compiled.binds[name], engine) for name in self._positions
        )
        self._error: type[Exception] = engine.dialect.loaded_dbapi.Error

    def first(self, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row for ``params`` (by bind parameter name), or None."""
        arguments: Any
        if self._plain:
            arguments = tuple(params[name] for name in self._positions)  # type: ignore[union-attr]
        else:
            values = self._compiled.construct_params(dict(params))
            arguments = values if self._positions is None else tuple(values[name] for name in self._positions)
        if self._kept is not None:
            return self._first_on_kept(self._kept, arguments)
        try:
            connection = self._engine.raw_connection()
        except self._error as error:  # no connection: the pool raises the driver's error as is
            raise self._wrapped(error, arguments, False) from error
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(self._sql, arguments)
                row = cursor.fetchone()
            finally:
                cursor.close()
            connection.commit()
        except self._error as error:
            dialect = self._engine.dialect
            dropped = dialect.is_disconnect(error, connection.dbapi_connection, None)  # type: ignore[arg-type]
            if dropped:
                connection.invalidate(error)
            raise self._wrapped(error, arguments, dropped) from error
        finally:
            connection.close()
        return None if row is None else tuple(row)

    def _first_on_kept(self, kept: KeptConnections, arguments: Any) -> tuple[Any, ...] | None:
        try:
            connection = kept.take()
        except self._error as error:  # the file cannot be opened
            raise self._wrapped(error, arguments, False) from error
        try:
            # sqlite3's shortcut: one cursor, executed, fetched, and freed with the call.
            row = connection.execute(self._sql, arguments).fetchone()
        except self._error as error:
            connection.close()  # whatever went wrong, the next lookup starts afresh
            raise self._wrapped(error, arguments, False) from error
        except BaseException:
            connection.close()
            raise
        kept.give_back(connection)
        return None if row is None else tuple(row)

    def _wrapped(self, error: Exception, arguments: Any, dropped: bool) -> BaseException:
        wrapped = DBAPIError.instance(
            self._sql,
            arguments,
            error,
            self._error,
            hide_parameters=True,
            connection_invalidated=dropped,
            dialect=self._engine.dialect,
        )
        if not isinstance(wrapped, BaseException):  # pragma: no cover - never for driver errors
            return error
        return wrapped
