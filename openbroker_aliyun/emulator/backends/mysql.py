"""RDS MySQL / MariaDB instances backed by one real MySQL or MariaDB server.

Accounts are ``'name'@'%'``; isolation between emulated instances comes from grants: an
account only ever gets privileges on its own instance's databases. A privileged (``Super``)
account gets ALL (with grant option) on every database of its instance, present and future.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager, suppress
from typing import Any, Iterator
from urllib.parse import unquote, urlsplit

import pymysql

from .base import BackendError, InstanceView, NameKind

log = logging.getLogger(__name__)

PRIVILEGES = {
    "ReadWrite": "ALL PRIVILEGES",
    "ReadOnly": "SELECT, LOCK TABLES, SHOW VIEW, EXECUTE",
    "DDLOnly": (
        "CREATE, DROP, INDEX, ALTER, CREATE TEMPORARY TABLES, LOCK TABLES, CREATE VIEW, SHOW VIEW, "
        "CREATE ROUTINE, ALTER ROUTINE, EVENT, TRIGGER"
    ),
    "DMLOnly": (
        "SELECT, INSERT, UPDATE, DELETE, CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, SHOW VIEW, "
        "EVENT, TRIGGER"
    ),
}
_NO_SUCH_GRANT = (1141, 1147)  # "There is no such grant defined ..."


def _ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


class MySqlBackend:
    """``url``: ``mysql://user:password@host:port/`` of an account that may create users and grant."""

    kind = "mysql"

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if not parts.scheme.startswith(("mysql", "mariadb")):
            raise ValueError("the MySQL backing URL must look like mysql://user:password@host:port/")
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 3306
        self._user = unquote(parts.username or "root")
        self._password = unquote(parts.password or "")
        # One admin connection, reused: connecting costs far more than the statements.
        self._connection: pymysql.Connection[Any] | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MySqlBackend({self._user}@{self.host}:{self.port})"

    def _live_connection(self) -> pymysql.Connection[Any]:
        if self._connection is not None and self._connection.open:
            try:
                self._connection.ping(reconnect=False)
                return self._connection
            except pymysql.MySQLError:
                with suppress(pymysql.MySQLError):
                    self._connection.close()
        self._connection = pymysql.connect(
            host=self.host,
            port=self.port,
            user=self._user,
            password=self._password,
            autocommit=True,
            connect_timeout=5,
        )
        return self._connection

    @contextmanager
    def _cursor(self, operation: str, secrets: tuple[str, ...] = ()) -> Iterator[Any]:
        with self._lock:
            try:
                connection = self._live_connection()
                with connection.cursor() as cursor:
                    yield cursor
            except pymysql.MySQLError as exc:
                raise BackendError.from_exception(operation, exc, secrets) from None

    def _execute(
        self, operation: str, statements: list[tuple[str, tuple[Any, ...]]], secrets: tuple[str, ...] = ()
    ) -> None:
        with self._cursor(operation, secrets) as cursor:
            for sql, args in statements:
                try:
                    cursor.execute(sql, args or None)
                except pymysql.err.OperationalError as exc:
                    if exc.args and exc.args[0] in _NO_SUCH_GRANT and sql.startswith("REVOKE"):
                        continue  # revoking what was never granted is not an error here
                    raise

    def _query(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._cursor("query") as cursor:
            cursor.execute(sql, args)
            return list(cursor.fetchall())

    def close(self) -> None:
        with self._lock:
            if self._connection is not None and self._connection.open:
                with suppress(pymysql.MySQLError):
                    self._connection.close()
            self._connection = None

    def exists(self, kind: NameKind, name: str) -> bool:
        if kind == "database":
            rows = self._query("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (name,))
        else:
            rows = self._query("SELECT 1 FROM mysql.user WHERE User = %s", (name,))
        return bool(rows)

    def create_database(self, view: InstanceView, name: str, charset: str) -> None:
        statements: list[tuple[str, tuple[Any, ...]]] = [
            (f"CREATE DATABASE {_ident(name)} CHARACTER SET {charset}", ())
        ]
        statements += [
            (f"GRANT ALL PRIVILEGES ON {_ident(name)}.* TO %s@'%%' WITH GRANT OPTION", (account,))
            for account in view.privileged
        ]
        self._execute("CREATE DATABASE", statements)

    def drop_database(self, view: InstanceView, name: str) -> None:
        self._execute("DROP DATABASE", [(f"DROP DATABASE IF EXISTS {_ident(name)}", ())])

    def create_account(self, view: InstanceView, name: str, password: str, privileged: bool) -> None:
        statements: list[tuple[str, tuple[Any, ...]]] = [
            ("CREATE USER %s@'%%' IDENTIFIED BY %s", (name, password))
        ]
        if privileged:
            statements += [
                (f"GRANT ALL PRIVILEGES ON {_ident(db)}.* TO %s@'%%' WITH GRANT OPTION", (name,))
                for db in view.databases
            ]
        self._execute("CREATE USER", statements, (password,))

    def drop_account(self, view: InstanceView, name: str) -> None:
        self._execute("DROP USER", [("DROP USER IF EXISTS %s@'%%'", (name,))])

    def reset_password(self, name: str, password: str) -> None:
        self._execute("ALTER USER", [("ALTER USER %s@'%%' IDENTIFIED BY %s", (name, password))], (password,))

    def grant(self, view: InstanceView, account: str, database: str, privilege: str) -> None:
        target = f"{_ident(database)}.*"
        self._execute(
            "GRANT",
            [
                (f"REVOKE ALL PRIVILEGES ON {target} FROM %s@'%%'", (account,)),
                (f"GRANT {PRIVILEGES[privilege]} ON {target} TO %s@'%%'", (account,)),
            ],
        )

    def revoke(self, view: InstanceView, account: str, database: str) -> None:
        statements: list[tuple[str, tuple[Any, ...]]] = [
            (f"REVOKE ALL PRIVILEGES ON {_ident(database)}.* FROM %s@'%%'", (account,))
        ]
        if account in view.privileged:  # a privileged account keeps its instance-wide rights
            statements.append(
                (f"GRANT ALL PRIVILEGES ON {_ident(database)}.* TO %s@'%%' WITH GRANT OPTION", (account,))
            )
        self._execute("REVOKE", statements)

    def drop_instance(self, view: InstanceView) -> None:
        statements: list[tuple[str, tuple[Any, ...]]] = [
            (f"DROP DATABASE IF EXISTS {_ident(db)}", ()) for db in view.databases
        ]
        statements += [("DROP USER IF EXISTS %s@'%%'", (account,)) for account in view.accounts]
        self._execute("drop instance", statements)
