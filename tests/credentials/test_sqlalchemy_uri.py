"""``sqlalchemy-uri``: the database URL that SQLAlchemy's ``create_engine`` takes as it is.

The generic ``uri`` (``mysql://``, ``postgresql://``) makes SQLAlchemy load mysqlclient or
(up to 2.0) psycopg2; ``sqlalchemy-uri`` names PyMySQL and psycopg 3, and with TLS carries
each driver's own TLS option. Checked with SQLAlchemy's own parsing, then by logging in
to the real MariaDB and PostgreSQL with an account made for the test: the plain URL
connects, and the TLS one connects only over TLS (refused by a server without it).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pymysql
import pytest
from backing_services import MYSQL_HOST, MYSQL_PORT, PG_HOST, PG_PORT, unique_name
from psycopg import sql
from sqlalchemy import create_engine, exc, make_url

from openbroker_aliyun.credentials import SQLALCHEMY_DRIVERS, database_credentials, generate_password

# Every URI delimiter: what a password might hold after all.
HOSTILE = "p@ss:w/rd?#[]%20+&=;,$!*'() é"


def _credentials(engine: str, *, tls: bool, host: str = "h.example.test", port: int = 3306, **kw: Any) -> Any:
    values = {"username": "u_1", "password": HOSTILE, "database": "app", **kw}
    return database_credentials(engine=engine, host=host, port=port, tls=tls, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize("engine", ["mysql", "postgresql"])
@pytest.mark.parametrize("tls", [False, True])
def test_sqlalchemy_uri_names_the_driver_and_keeps_everything_else(engine: str, tls: bool) -> None:
    creds = _credentials(engine, tls=tls)
    url = make_url(creds["sqlalchemy-uri"])
    expected = {"mysql": "mysql+pymysql", "postgresql": "postgresql+psycopg"}[engine]
    assert url.drivername == SQLALCHEMY_DRIVERS[engine] == expected
    assert (url.username, url.password, url.host, url.port, url.database) == (
        "u_1",
        HOSTILE,
        "h.example.test",
        3306,
        "app",
    )
    # The same URL as uri but for the scheme and, on MySQL with TLS, the driver's option.
    generic = make_url(creds["uri"])
    assert url.set(drivername=generic.drivername, query=generic.query) == generic
    tls_option = {"mysql": {"ssl_check_hostname": "false"}, "postgresql": {"sslmode": "require"}}[engine]
    assert dict(url.query) == (tls_option if tls else {})


def test_mysql_tls_becomes_a_pymysql_ssl_option_pymysql_accepts() -> None:
    url = make_url(_credentials("mysql", tls=True)["sqlalchemy-uri"])
    _, kwargs = create_engine(url).dialect.create_connect_args(url)
    # A non-empty ssl dict is PyMySQL's "TLS required"; no CA, so the certificate is not checked.
    assert kwargs["ssl"] == {"check_hostname": False}
    assert set(kwargs) <= set(inspect.signature(pymysql.connections.Connection.__init__).parameters)


# ------------------------------------------------------- real servers, real clients


@contextmanager
def _mariadb_account() -> Iterator[tuple[str, str]]:
    user, password = unique_name("sa"), generate_password()
    admin = pymysql.connect(host=MYSQL_HOST, port=MYSQL_PORT, user="root", password="", autocommit=True)
    try:
        with admin.cursor() as cur:
            cur.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (user, password))
        yield user, password
    finally:
        with admin.cursor() as cur:
            cur.execute("DROP USER IF EXISTS %s@'%%'", (user,))
        admin.close()


@contextmanager
def _postgres_account(admin_url: str) -> Iterator[tuple[str, str]]:
    user, password = unique_name("sa"), generate_password()
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(user), sql.Literal(password))
        )
    try:
        yield user, password
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(user)))


def _login(uri: str, who_and_tls: str) -> tuple[Any, ...]:
    engine = create_engine(uri)
    try:
        with engine.connect() as conn:
            return tuple(conn.exec_driver_sql(who_and_tls).one())
    finally:
        engine.dispose()


def test_sqlalchemy_uri_logs_in_to_mariadb(mysql_admin_url: str) -> None:
    with _mariadb_account() as (user, password):
        login = {"host": MYSQL_HOST, "port": MYSQL_PORT, "username": user, "password": password}
        plain = _credentials("mysql", tls=False, database="information_schema", **login)
        who = "SELECT CURRENT_USER(), (SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS"
        who += " WHERE VARIABLE_NAME = 'Ssl_cipher')"
        current, _ = _login(plain["sqlalchemy-uri"], who)
        assert current.startswith(f"{user}@")

        tls = _credentials("mysql", tls=True, database="information_schema", **login)
        if _mariadb_has_tls():
            assert _login(tls["sqlalchemy-uri"], who)[1]  # a cipher: the session is encrypted
        else:
            with pytest.raises(exc.OperationalError, match="SSL is required"):
                _login(tls["sqlalchemy-uri"], who)


def test_sqlalchemy_uri_logs_in_to_postgresql(postgres_admin_url: str) -> None:
    with _postgres_account(postgres_admin_url) as (user, password):
        login = {"host": PG_HOST, "port": PG_PORT, "username": user, "password": password}
        who = "SELECT current_user, (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid())"
        plain = _credentials("postgresql", tls=False, database="postgres", **login)
        assert _login(plain["sqlalchemy-uri"], who)[0] == user

        tls = _credentials("postgresql", tls=True, database="postgres", **login)
        with psycopg.connect(postgres_admin_url) as admin:
            server_tls = admin.execute("SHOW ssl").fetchone() == ("on",)
        if server_tls:
            assert _login(tls["sqlalchemy-uri"], who) == (user, True)
        else:
            with pytest.raises(exc.OperationalError, match="server does not support SSL"):
                _login(tls["sqlalchemy-uri"], who)


def _mariadb_has_tls() -> bool:
    conn = pymysql.connect(host=MYSQL_HOST, port=MYSQL_PORT, user="root", password="")
    with conn, conn.cursor() as cur:
        cur.execute("SHOW VARIABLES LIKE 'have_ssl'")
        row = cur.fetchone()
    return row is not None and row[1] == "YES"
