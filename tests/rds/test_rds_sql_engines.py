"""The RDS broker's SQL engines against the real PostgreSQL and MariaDB servers.

The fixtures below set the servers up the way Alibaba (and the emulator) does for one
instance: a privileged account that can create roles and owns the database, a database
closed to PUBLIC, and normal accounts with the ``DBOwner`` / ``ReadWrite`` grants. Then the
engines' SQL runs as the broker would run it, and real clients use the bindings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import psycopg
import pymysql
import pytest
from aliyun_brokers.rds.sql_engines import Login, MysqlSqlEngine, PostgresSqlEngine, SqlError
from backing_services import MYSQL_HOST, MYSQL_PORT, PG_HOST, PG_PORT, unique_name
from psycopg import sql

pytestmark = pytest.mark.services

PASSWORD = "Pw-1aB2cD3eF4gH5"


@dataclass
class PgInstance:
    admin_url: str
    manager: Login
    owner_role: str
    accounts: list[str]

    def create_account(self, name: str) -> Login:
        """What CreateAccount Normal + GrantAccountPrivilege DBOwner do on PostgreSQL."""
        db = sql.Identifier(self.manager.database)
        role = sql.Identifier(name)
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(role, sql.Literal(PASSWORD)))
            conn.execute(sql.SQL("GRANT CONNECT, CREATE, TEMPORARY ON DATABASE {} TO {}").format(db, role))
        with psycopg.connect(self._admin_db_url(), autocommit=True) as conn:
            conn.execute(sql.SQL("GRANT USAGE, CREATE ON SCHEMA public TO {}").format(role))
            conn.execute(sql.SQL("GRANT ALL ON ALL TABLES IN SCHEMA public TO {}").format(role))
        self.accounts.append(name)
        return Login(PG_HOST, PG_PORT, name, PASSWORD, self.manager.database)

    def delete_account(self, name: str) -> None:
        """What DeleteAccount does on PostgreSQL: DROP OWNED BY + DROP ROLE."""
        role = sql.Identifier(name)
        with psycopg.connect(self._admin_db_url(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(role))
            conn.execute(sql.SQL("DROP ROLE {}").format(role))
        self.accounts.remove(name)

    def _admin_db_url(self) -> str:
        return f"postgresql://postgres@{PG_HOST}:{PG_PORT}/{self.manager.database}"


@pytest.fixture
def pg_instance(postgres_admin_url: str) -> Iterator[PgInstance]:
    database = unique_name("db")
    manager = unique_name("mgr")
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN CREATEROLE PASSWORD {}").format(
                sql.Identifier(manager), sql.Literal(PASSWORD)
            )
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(database), sql.Identifier(manager))
        )
        conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(database)))
        conn.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(database), sql.Identifier(manager)
            )
        )
    instance = PgInstance(
        admin_url=postgres_admin_url,
        manager=Login(PG_HOST, PG_PORT, manager, PASSWORD, database),
        owner_role=unique_name("owner"),
        accounts=[],
    )
    try:
        yield instance
    finally:
        with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
            for role in [*instance.accounts, instance.owner_role, manager]:
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def _pg(login: Login) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(
        host=login.host,
        port=login.port,
        user=login.username,
        password=login.password,
        dbname=login.database,
        autocommit=True,
    )


def test_postgres_tables_are_shared_by_bindings_and_outlive_their_creator(pg_instance: PgInstance) -> None:
    engine = PostgresSqlEngine()
    engine.prepare_database(pg_instance.manager, pg_instance.owner_role)
    engine.prepare_database(pg_instance.manager, pg_instance.owner_role)  # a resumed step
    first = pg_instance.create_account(unique_name("b1"))
    second = pg_instance.create_account(unique_name("b2"))
    engine.prepare_binding(pg_instance.manager, first, pg_instance.owner_role)
    engine.prepare_binding(pg_instance.manager, first, pg_instance.owner_role)  # a resumed step
    engine.prepare_binding(pg_instance.manager, second, pg_instance.owner_role)

    with _pg(first) as conn:
        conn.execute("CREATE TABLE orders (id serial PRIMARY KEY, item text)")
        conn.execute("INSERT INTO orders (item) VALUES ('from first')")
        owner = conn.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'orders'").fetchone()
        assert owner == (pg_instance.owner_role,)
    with _pg(second) as conn:
        conn.execute("INSERT INTO orders (item) VALUES ('from second')")
        conn.execute("ALTER TABLE orders ADD COLUMN qty int")  # DDL too: both act as the owner
        assert conn.execute("SELECT count(*) FROM orders").fetchone() == (2,)

    pg_instance.delete_account(first.username)
    with pytest.raises(psycopg.OperationalError):
        _pg(first).close()
    with _pg(second) as conn:
        conn.execute("INSERT INTO orders (item, qty) VALUES ('after unbind', 1)")
        rows = conn.execute("SELECT item FROM orders ORDER BY id").fetchall()
    assert [row[0] for row in rows] == ["from first", "from second", "after unbind"]


def test_postgres_errors_never_carry_the_password(pg_instance: PgInstance) -> None:
    # The CI server trusts loopback, so an unknown role is what makes the login fail.
    wrong = Login(PG_HOST, PG_PORT, "no_such_role_x", "Wrong-Secret-9x", pg_instance.manager.database)
    with pytest.raises(SqlError) as caught:
        PostgresSqlEngine().prepare_database(wrong, pg_instance.owner_role)
    assert "Wrong-Secret-9x" not in str(caught.value)
    assert "no_such_role_x" in str(caught.value)


def test_mysql_needs_no_sql_because_database_grants_share_every_table(mysql_admin_url: str) -> None:
    """ReadWrite = ALL ON db.*: tables are shared and outlive their creator without SQL."""
    database, first, second = unique_name("db"), unique_name("b1"), unique_name("b2")
    admin = pymysql.connect(host=MYSQL_HOST, port=MYSQL_PORT, user="root", password="", autocommit=True)
    engine = MysqlSqlEngine()
    assert engine.needs_manager is False
    try:
        with admin.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{database}`")
            for user in (first, second):
                cur.execute(f"CREATE USER '{user}'@'%%' IDENTIFIED BY %s", (PASSWORD,))
                cur.execute(f"GRANT ALL PRIVILEGES ON `{database}`.* TO '{user}'@'%'")
        login = Login(MYSQL_HOST, MYSQL_PORT, first, PASSWORD, database)
        engine.prepare_database(login, "unused")
        engine.prepare_binding(login, login, "unused")

        def connect(user: str) -> pymysql.connections.Connection:  # type: ignore[type-arg]
            return pymysql.connect(
                host=MYSQL_HOST,
                port=MYSQL_PORT,
                user=user,
                password=PASSWORD,
                database=database,
                autocommit=True,
            )

        with connect(first) as conn, conn.cursor() as cur:
            cur.execute("CREATE TABLE orders (id int PRIMARY KEY, item text)")
            cur.execute("INSERT INTO orders VALUES (1, 'first')")
        with admin.cursor() as cur:
            cur.execute(f"DROP USER '{first}'@'%'")
        with connect(second) as conn, conn.cursor() as cur:
            cur.execute("INSERT INTO orders VALUES (2, 'second')")
            cur.execute("SELECT count(*) FROM orders")
            assert cur.fetchone() == (2,)
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{database}`")
            for user in (first, second):
                cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")
        admin.close()
