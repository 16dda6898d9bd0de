"""RDS PostgreSQL instances backed by one real PostgreSQL server (admin URL: a superuser).

Semantics (the RDS broker relies on exactly these; from Alibaba's account documentation):

* ``Super`` (privileged) account: ``LOGIN CREATEROLE CREATEDB`` (never SUPERUSER), with CONNECT
  on every database of its instance; several per instance are allowed.
* ``CreateDatabase``: owned by the instance's first privileged account if it has one (else by
  the admin), ``REVOKE ALL ... FROM PUBLIC`` so that no other instance's account can connect,
  CONNECT for the instance's privileged accounts.
* ``Normal`` account: a plain ``LOGIN`` role.
* ``DBOwner`` grant: CONNECT, CREATE, TEMP on the database; USAGE, CREATE on schema public;
  ALL on the existing tables and sequences of public. Revoke undoes it.
* ``DeleteAccount``: databases the role owns go to the next privileged account (or the admin),
  then ``DROP OWNED BY`` in each of the instance's databases and ``DROP ROLE``.
* ``DeleteDBInstance``: drops the instance's databases (``WITH (FORCE)``), its roles, and the
  roles its accounts made (found by ownership inside its databases and by grants its accounts
  made), plus databases those roles own.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from .base import BackendError, InstanceView, NameKind

log = logging.getLogger(__name__)

Statement = sql.SQL | sql.Composed

_EXTRA_ROLES_IN_DATABASE = """
SELECT DISTINCT r.rolname FROM pg_roles r
WHERE NOT r.rolsuper AND r.rolname NOT LIKE 'pg\\_%%' AND r.rolname <> current_user AND (
  r.oid IN (SELECT c.relowner FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%%')
  OR r.oid IN (SELECT nspowner FROM pg_namespace)
  OR r.oid IN (SELECT datdba FROM pg_database WHERE datname = current_database())
  OR r.oid IN (SELECT p.proowner FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
               WHERE n.nspname NOT IN ('pg_catalog', 'information_schema'))
)
"""
_ROLES_GRANTED_BY = """
SELECT DISTINCT r.rolname FROM pg_auth_members m
JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles g ON g.oid = m.grantor
WHERE g.rolname = ANY(%s) AND NOT r.rolsuper AND r.rolname NOT LIKE 'pg\\_%%'
"""


def _parse_charset(charset: str) -> tuple[str, str | None]:
    """``UTF8`` or ``UTF8,C,en_US.utf8`` (charset, collate, ctype) → (encoding, locale or None).

    The server's own locale is used unless C/POSIX is asked for or the encoding is not UTF8
    (only the C locale is compatible with every encoding); see docs/emulator.md.
    """
    parts = [p.strip() for p in charset.split(",")]
    encoding = parts[0]
    collate = parts[1] if len(parts) > 1 else ""
    if encoding.upper().replace("-", "") != "UTF8" or collate.upper() in ("C", "POSIX"):
        return encoding, "C"
    return encoding, None


class PostgresBackend:
    """``url``: ``postgresql://user[:password]@host:port/db`` of a superuser."""

    kind = "postgres"

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        scheme = parts.scheme.split("+", 1)[0]
        if scheme not in ("postgres", "postgresql"):
            raise ValueError("the PostgreSQL backing URL must look like postgresql://user@host:port/postgres")
        self._conninfo = urlunsplit((scheme, parts.netloc, parts.path, parts.query, ""))
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 5432
        self._admin = unquote(parts.username or "postgres")

    def __repr__(self) -> str:
        return f"PostgresBackend({self._admin}@{self.host}:{self.port})"

    def _connect(self, dbname: str | None = None) -> psycopg.Connection[Any]:
        kwargs: dict[str, Any] = {"autocommit": True, "connect_timeout": 5}
        if dbname:
            kwargs["dbname"] = dbname
        return psycopg.connect(self._conninfo, **kwargs)

    def _run(
        self,
        operation: str,
        statements: list[Statement],
        *,
        dbname: str | None = None,
        secrets: tuple[str, ...] = (),
    ) -> None:
        try:
            with self._connect(dbname) as conn:
                for statement in statements:
                    conn.execute(statement)
        except psycopg.Error as exc:
            raise BackendError.from_exception(operation, exc, secrets) from None

    def _rows(self, query: str, args: tuple[Any, ...] = (), *, dbname: str | None = None) -> list[str]:
        try:
            with self._connect(dbname) as conn:
                return [row[0] for row in conn.execute(query.encode(), args).fetchall()]
        except psycopg.Error as exc:
            raise BackendError.from_exception("query", exc) from None

    def close(self) -> None:
        """Nothing to close: every operation uses its own short connection."""

    def exists(self, kind: NameKind, name: str) -> bool:
        if kind == "database":
            return bool(self._rows("SELECT 1 FROM pg_database WHERE datname = %s", (name,)))
        return bool(self._rows("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)))

    def create_database(self, view: InstanceView, name: str, charset: str) -> None:
        encoding, locale = _parse_charset(charset)
        db = sql.Identifier(name)
        owner = sql.Identifier(view.privileged[0] if view.privileged else self._admin)
        create = sql.SQL("CREATE DATABASE {} OWNER {} TEMPLATE template0 ENCODING {}").format(
            db, owner, sql.Literal(encoding)
        )
        if locale:
            create = sql.SQL("{} LC_COLLATE {} LC_CTYPE {}").format(
                create, sql.Literal(locale), sql.Literal(locale)
            )
        statements: list[Statement] = [
            create,
            sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(db),
        ]
        statements += [
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(db, sql.Identifier(p))
            for p in view.privileged
        ]
        self._run("CREATE DATABASE", statements)

    def drop_database(self, view: InstanceView, name: str) -> None:
        self._run(
            "DROP DATABASE", [sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))]
        )

    def create_account(self, view: InstanceView, name: str, password: str, privileged: bool) -> None:
        role = sql.Identifier(name)
        options = sql.SQL(" CREATEROLE CREATEDB" if privileged else "")
        statements: list[Statement] = [
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}{}").format(role, sql.Literal(password), options)
        ]
        if privileged:
            statements += [
                sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(db), role)
                for db in view.databases
            ]
        self._run("CREATE ROLE", statements, secrets=(password,))

    def drop_account(self, view: InstanceView, name: str) -> None:
        if not self.exists("account", name):
            return
        heir = next((p for p in view.privileged if p != name), self._admin)
        self._drop_roles([name], heir=heir, databases=view.databases)

    def _drop_roles(self, roles: list[str], *, heir: str, databases: tuple[str, ...]) -> None:
        """Hand owned databases to ``heir``, drop everything else the roles own, drop the roles."""
        owned = self._rows(
            "SELECT datname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE r.rolname = ANY(%s)",
            (roles,),
        )
        self._run(
            "DROP ROLE",
            [
                sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(db), sql.Identifier(heir))
                for db in owned
            ],
        )
        names = sql.SQL(", ").join(sql.Identifier(r) for r in roles)
        for db in databases:
            if self.exists("database", db):
                self._run("DROP OWNED", [sql.SQL("DROP OWNED BY {}").format(names)], dbname=db)
        self._run(
            "DROP ROLE",
            [
                sql.SQL(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = ANY({})"
                ).format(sql.Literal(roles)),
                # In the admin database too: revokes privileges on shared objects (databases).
                sql.SQL("DROP OWNED BY {}").format(names),
                sql.SQL("DROP ROLE IF EXISTS {}").format(names),
            ],
        )

    def reset_password(self, name: str, password: str) -> None:
        self._run(
            "ALTER ROLE",
            [sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(name), sql.Literal(password))],
            secrets=(password,),
        )

    def grant(self, view: InstanceView, account: str, database: str, privilege: str) -> None:
        role, db = sql.Identifier(account), sql.Identifier(database)
        self._run(
            "GRANT", [sql.SQL("GRANT CONNECT, CREATE, TEMPORARY ON DATABASE {} TO {}").format(db, role)]
        )
        self._run(
            "GRANT",
            [
                sql.SQL("GRANT USAGE, CREATE ON SCHEMA public TO {}").format(role),
                sql.SQL("GRANT ALL ON ALL TABLES IN SCHEMA public TO {}").format(role),
                sql.SQL("GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {}").format(role),
            ],
            dbname=database,
        )

    def revoke(self, view: InstanceView, account: str, database: str) -> None:
        role, db = sql.Identifier(account), sql.Identifier(database)
        self._run(
            "REVOKE",
            [
                sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {}").format(role),
                sql.SQL("REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {}").format(role),
                sql.SQL("REVOKE ALL ON SCHEMA public FROM {}").format(role),
            ],
            dbname=database,
        )
        statements: list[Statement] = [sql.SQL("REVOKE ALL ON DATABASE {} FROM {}").format(db, role)]
        if account in view.privileged:  # privileged accounts keep CONNECT on the instance's databases
            statements.append(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(db, role))
        self._run("REVOKE", statements)

    def _extra_roles(self, view: InstanceView) -> list[str]:
        """Roles the instance's accounts made: owners of things in its databases, or granted by them."""
        found: set[str] = set()
        for db in view.databases:
            if self.exists("database", db):
                found.update(self._rows(_EXTRA_ROLES_IN_DATABASE, dbname=db))
        if view.accounts:
            found.update(self._rows(_ROLES_GRANTED_BY, (list(view.accounts),)))
        return sorted(found - set(view.accounts) - view.protected - {self._admin})

    def drop_instance(self, view: InstanceView) -> None:
        extras = self._extra_roles(view)
        roles = [r for r in [*view.accounts, *extras] if self.exists("account", r)]
        databases = set(view.databases)
        if roles:
            databases.update(
                self._rows(
                    "SELECT datname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba"
                    " WHERE r.rolname = ANY(%s)",
                    (roles,),
                )
            )
        for db in sorted(databases):
            self.drop_database(view, db)
        if roles:
            self._drop_roles(roles, heir=self._admin, databases=())
