"""One read statement straight through the database driver, for the hottest request.

SQLAlchemy's execution of a statement (a ``Connection``, its transaction, an execution
context, a result object) costs around a hundred microseconds; the lookup behind
last_operation costs the database a few. Platforms poll last_operation every few
seconds for every operation in flight, so that one statement runs the way SQLAlchemy
itself runs it underneath: compiled once by SQLAlchemy for the engine's dialect, on a
connection from the engine's pool (pre-ping included), with the driver's own cursor.
Driver errors come out as SQLAlchemy's exceptions, with the parameters hidden, and a
connection the database dropped is invalidated, as SQLAlchemy would do.

Only for a single ``SELECT`` of columns whose driver values need no conversion beyond
what the caller does: a single statement needs no explicit transaction to be consistent
(SQLite runs it in autocommit mode, which in WAL mode takes no lock; PostgreSQL and
MySQL end the driver's implicit transaction right after it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Engine, Select
from sqlalchemy.exc import DBAPIError


class DirectQuery:
    """A ``SELECT`` compiled once for ``engine``, run on a pooled driver connection."""

    def __init__(self, engine: Engine, statement: Select[Any]) -> None:
        compiled = statement.compile(dialect=engine.dialect)
        self._engine = engine
        self._compiled = compiled
        self._sql = compiled.string
        # Positional drivers (sqlite3's "?", PyMySQL's "%s") take a tuple in this order.
        self._positions: Sequence[str] | None = compiled.positiontup if compiled.positional else None
        self._error: type[Exception] = engine.dialect.loaded_dbapi.Error

    def first(self, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row for ``params`` (by bind parameter name), or None."""
        values = self._compiled.construct_params(dict(params))
        arguments: Any = (
            values if self._positions is None else tuple(values[name] for name in self._positions)
        )
        connection = self._engine.raw_connection()
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
            wrapped = DBAPIError.instance(
                self._sql,
                arguments,
                error,
                self._error,
                hide_parameters=True,
                connection_invalidated=dropped,
                dialect=dialect,
            )
            if not isinstance(wrapped, BaseException):  # pragma: no cover - never for driver errors
                raise
            raise wrapped from error
        finally:
            connection.close()
        return None if row is None else tuple(row)
