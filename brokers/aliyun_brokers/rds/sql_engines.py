"""What the broker does over SQL, per engine, behind one small interface.

Alibaba's API creates accounts, databases and grants; it cannot make tables created by
one binding usable by the others. That is the only thing the broker does over SQL, and
only on PostgreSQL:

* MySQL needs nothing: ``GrantAccountPrivilege ReadWrite`` grants ``ALL ON db.*``, so every
  binding account can use every table of the database, whoever created it, and a table
  outlives the account that created it.
* PostgreSQL ties a table to the role that created it: the next binding cannot read it,
  and deleting the creator's account (``DROP OWNED``) would delete it. The broker therefore
  gives each instance a group role ``<owner>`` (``NOLOGIN``) that owns schema ``public``,
  makes every binding account a member of it, and sets the account's session default
  ``role`` to it (``ALTER ROLE ... SET role``), so every session of every binding acts as
  ``<owner>``: tables belong to ``<owner>``, are shared by all bindings and survive any
  binding's deletion. The broker runs this as the instance's privileged account (created
  through the API with ``AccountType=Super``, which Alibaba allows several of on
  PostgreSQL) and as the new binding account itself (a role may always set its own
  session defaults; a privileged account may not alter a role it did not create on
  PostgreSQL 16 and later). See docs/rds.md, "Shared ownership on PostgreSQL". Nothing
needs undoing before deprovisioning: deleting the instance deletes its roles.

Every method is idempotent: a step that crashed half-way is simply run again.
Identifiers are quoted by the driver (``psycopg.sql.Identifier``); no value a user sent
reaches SQL text. Errors are ``SqlError`` carrying no password.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator, Protocol

import psycopg
from psycopg import sql

__all__ = ["Login", "MysqlSqlEngine", "PostgresSqlEngine", "SqlEngine", "SqlError"]

# Short: a step must not hang on an unreachable instance; the engine retries it.
CONNECT_TIMEOUT_SECONDS = 5


class SqlError(Exception):
    """A SQL step failed; transient as far as the broker knows (the engine retries)."""


@dataclass(frozen=True)
class Login:
    """How to reach one database as one account."""

    host: str
    port: int
    username: str
    password: str = field(repr=False)
    database: str
    tls: bool = False


class SqlEngine(Protocol):
    """The engine-specific part of provisioning and binding done over SQL."""

    #: Whether this engine needs the instance's privileged (manager) account.
    needs_manager: bool

    def prepare_database(self, manager: Login, owner_role: str) -> None:
        """After the database exists: make ``owner_role`` own what bindings create."""
        ...

    def prepare_binding(self, manager: Login, account: Login, owner_role: str) -> None:
        """After the binding's account was created and granted: join it to the owner."""
        ...


class MysqlSqlEngine:
    """MySQL: per-database grants already share every table; no SQL is needed."""

    needs_manager = False

    def prepare_database(self, manager: Login, owner_role: str) -> None:
        return None

    def prepare_binding(self, manager: Login, account: Login, owner_role: str) -> None:
        return None


class PostgresSqlEngine:
    """PostgreSQL: a shared ``NOLOGIN`` owner role per instance (module docstring)."""

    needs_manager = True

    def prepare_database(self, manager: Login, owner_role: str) -> None:
        owner = sql.Identifier(owner_role)
        with _connect(manager) as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (owner_role,)).fetchone()
            if not exists:
                # A concurrent run cannot happen (the engine leases the operation), and a
                # crashed run left the role behind, which the check above finds.
                conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(owner))
            # Membership lets the manager hand schema ownership to the role.
            conn.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(owner))
            conn.execute(
                sql.SQL("GRANT CONNECT, CREATE, TEMPORARY ON DATABASE {} TO {}").format(
                    sql.Identifier(manager.database), owner
                )
            )
            conn.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(owner))

    def prepare_binding(self, manager: Login, account: Login, owner_role: str) -> None:
        with _connect(manager) as conn:
            conn.execute(
                sql.SQL("GRANT {} TO {}").format(sql.Identifier(owner_role), sql.Identifier(account.username))
            )
        # As the account itself: any role may set its own session defaults, and this also
        # proves the new credentials work before they are handed out.
        with _connect(account) as conn:
            conn.execute(sql.SQL("ALTER ROLE CURRENT_USER SET role TO {}").format(sql.Literal(owner_role)))


@contextmanager
def _connect(login: Login) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A connection for one short session; every driver error becomes ``SqlError``."""
    try:
        # Broker connections never downgrade when the instance has TLS on.
        with psycopg.connect(
            host=login.host,
            port=login.port,
            user=login.username,
            password=login.password,
            dbname=login.database,
            sslmode="require" if login.tls else "prefer",
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            application_name="openbroker-rds",
            autocommit=True,
        ) as conn:
            yield conn
    except psycopg.Error as exc:
        raise SqlError(_describe(login, exc)) from None


def _describe(login: Login, exc: psycopg.Error) -> str:
    # psycopg messages name host and user, never the password; strip it anyway should a
    # server ever echo it.
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if login.password:
        text = text.replace(login.password, "***")
    return f"PostgreSQL at {login.host}:{login.port} as {login.username}: {text}"
