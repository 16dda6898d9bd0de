"""Credentials helpers: password and account-name rules, URIs every client parses alike.

The library's helpers (``openbroker_aliyun.credentials``) and the Alibaba brokers' rules
on top of them (``aliyun_brokers.common.credentials``).
"""

from __future__ import annotations

import hashlib
import inspect
import re
import string
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import psycopg
import pymysql
import pytest
import redis
from aliyun_brokers.common import credentials as aliyun_credentials
from aliyun_brokers.common.credentials import (
    MYSQL_56_ACCOUNT_MAX_LENGTH,
    MYSQL_ACCOUNT_MAX_LENGTH,
    POSTGRESQL_ACCOUNT_MAX_LENGTH,
    POSTGRESQL_FORBIDDEN_PREFIXES,
    POSTGRESQL_LOCAL_SSD_ACCOUNT_MAX_LENGTH,
    REDIS_ACCOUNT_MAX_LENGTH,
)
from aliyun_brokers.common.credentials import PASSWORD_SPECIALS as ALIYUN_PASSWORD_SPECIALS
from backing_services import MYSQL_HOST, MYSQL_PORT, PG_HOST, PG_PORT, REDIS_HOST, REDIS_PORT, unique_name
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from redis.connection import parse_url
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from openbroker_aliyun.credentials import (
    DEFAULT_PASSWORD_SPECIALS,
    build_uri,
    database_credentials,
    endpoints_for,
    generate_account_name,
    generate_password,
    redis_credentials,
)
from openbroker_aliyun.domain import Endpoint

# Every URI delimiter and then some: what a password might hold after all.
HOSTILE = "p@ss:w/rd?#[]%20+&=;,$!*'() é"
_password_text = st.text(
    alphabet=string.ascii_letters + string.digits + ALIYUN_PASSWORD_SPECIALS + ":/?#[]%&;,'~ .é",
    min_size=1,
    max_size=32,
)

# ----------------------------------------------------------------------- passwords


def _classes(password: str) -> set[str]:
    found = set()
    for name, group in (
        ("lower", string.ascii_lowercase),
        ("upper", string.ascii_uppercase),
        ("digit", string.digits),
        ("special", ALIYUN_PASSWORD_SPECIALS),
    ):
        if any(ch in group for ch in password):
            found.add(name)
    return found


@pytest.mark.parametrize("length", [8, 9, 16, 24, 32])
def test_passwords_meet_alibaba_rules(length: int) -> None:
    allowed = set(string.ascii_letters + string.digits + ALIYUN_PASSWORD_SPECIALS)
    for _ in range(200):
        password = aliyun_credentials.generate_password(length)
        assert len(password) == length
        assert set(password) <= allowed
        assert _classes(password) == {"lower", "upper", "digit", "special"}


def test_passwords_are_random() -> None:
    assert len({generate_password() for _ in range(100)}) == 100


def test_custom_and_empty_specials() -> None:
    for _ in range(50):
        password = generate_password(12, specials="-_")
        assert set(password) - set(string.ascii_letters + string.digits) <= {"-", "_"}
        assert any(ch in "-_" for ch in password)
        plain = generate_password(8, specials="")
        assert plain.isalnum() and _classes(plain) == {"lower", "upper", "digit"}


@pytest.mark.parametrize("length", [0, 7, 33, 100])
def test_password_length_outside_alibaba_limits(length: int) -> None:
    with pytest.raises(ValueError, match="8-32"):
        aliyun_credentials.generate_password(length)


@pytest.mark.parametrize("length", [8, 33, 64, 128])
def test_the_library_makes_passwords_longer_than_alibaba_takes(length: int) -> None:
    """The library knows no cloud's limit: 8 to 128 characters, every class."""
    password = generate_password(length)
    assert len(password) == length
    assert set(password) <= set(string.ascii_letters + string.digits + DEFAULT_PASSWORD_SPECIALS)
    assert _classes(password) == {"lower", "upper", "digit", "special"}


@pytest.mark.parametrize("length", [0, 7, 129])
def test_password_length_outside_the_library_limits(length: int) -> None:
    with pytest.raises(ValueError, match="8-128"):
        generate_password(length)


@pytest.mark.parametrize("specials", ["a", " ", "\n", "é"])
def test_specials_must_be_punctuation(specials: str) -> None:
    with pytest.raises(ValueError, match="punctuation"):
        generate_password(specials=specials)


# ------------------------------------------------------------------- account names

ACCOUNT = re.compile(r"^[a-z][a-z0-9_]*[a-z0-9]$")


@pytest.mark.parametrize(
    ("prefix", "max_length", "forbidden"),
    [
        ("ob_", MYSQL_ACCOUNT_MAX_LENGTH, ()),
        ("ob_", MYSQL_56_ACCOUNT_MAX_LENGTH, ()),
        ("ob_", POSTGRESQL_LOCAL_SSD_ACCOUNT_MAX_LENGTH, POSTGRESQL_FORBIDDEN_PREFIXES),
        ("ob_", POSTGRESQL_ACCOUNT_MAX_LENGTH, POSTGRESQL_FORBIDDEN_PREFIXES),
        ("bind_", REDIS_ACCOUNT_MAX_LENGTH, ()),
    ],
    ids=["mysql", "mysql56", "pg-local", "pg-cloud", "redis"],
)
def test_account_names_follow_each_engine_rule(
    prefix: str, max_length: int, forbidden: tuple[str, ...]
) -> None:
    names = set()
    for index in range(300):
        binding_id = f"binding-{index}"
        name = generate_account_name(prefix, binding_id, max_length=max_length, forbidden_prefixes=forbidden)
        assert ACCOUNT.match(name), name
        assert 2 <= len(name) <= max_length
        assert not name.startswith(("pg", *forbidden))
        assert (
            generate_account_name(prefix, binding_id, max_length=max_length, forbidden_prefixes=forbidden)
            == name
        )
        names.add(name)
    assert len(names) == 300


def test_account_name_is_the_hash_of_the_unique_input() -> None:
    digest = hashlib.sha256(b"4f1c6a7e-binding").hexdigest()
    assert generate_account_name("u", "4f1c6a7e-binding", max_length=16) == "u" + digest[:15]
    # Long limits stop at 24 hex digits: unique enough, and short enough to read.
    assert generate_account_name("u", "4f1c6a7e-binding", max_length=100) == "u" + digest[:24]


@pytest.mark.parametrize("prefix", ["", "1ob", "Ob_", "ob-", "ob ", "_ob"])
def test_bad_prefixes(prefix: str) -> None:
    with pytest.raises(ValueError, match="prefix"):
        generate_account_name(prefix, "x", max_length=32)


def test_prefix_must_leave_room_for_the_hash() -> None:
    with pytest.raises(ValueError, match="fewer than 8"):
        generate_account_name("binding_user_", "x", max_length=16)


@pytest.mark.parametrize("prefix", ["pg", "pgx_", "p"])
def test_prefix_that_could_make_a_forbidden_name(prefix: str) -> None:
    with pytest.raises(ValueError, match="forbidden"):
        generate_account_name(prefix, "x", max_length=63, forbidden_prefixes=POSTGRESQL_FORBIDDEN_PREFIXES)


# ------------------------------------------------------------------------- URIs


@settings(max_examples=200, deadline=None)
@given(username=_password_text, password=_password_text)
def test_userinfo_round_trips_through_every_parser(username: str, password: str) -> None:
    uri = build_uri(
        "postgresql", host="db.example.test", port=5432, username=username, password=password, path="app"
    )
    parts = urlsplit(uri)
    assert (unquote(parts.username or ""), unquote(parts.password or "")) == (username, password)
    assert parts.hostname == "db.example.test" and parts.port == 5432 and parts.path == "/app"
    url = make_url(uri)
    assert (url.username, url.password, url.host, url.port, url.database) == (
        username,
        password,
        "db.example.test",
        5432,
        "app",
    )
    conninfo = conninfo_to_dict(uri)
    assert (conninfo["user"], conninfo["password"], conninfo["dbname"]) == (username, password, "app")
    redis_uri = build_uri(
        "redis", host="cache.example.test", port=6379, username=username, password=password, path="0"
    )
    parsed = parse_url(redis_uri)
    assert (parsed["username"], parsed["password"], parsed["db"]) == (username, password, 0)


def test_generated_passwords_round_trip() -> None:
    for _ in range(200):
        password = generate_password()
        uri = build_uri("mysql", host="h", port=3306, username="u", password=password, path="db")
        assert make_url(uri).password == password
        assert unquote(urlsplit(uri).password or "") == password


def _pymysql_connect_args(uri: str) -> dict[str, object]:
    url = make_url(uri).set(drivername="mysql+pymysql")
    _, kwargs = create_engine(url).dialect.create_connect_args(url)
    return dict(kwargs)


def test_mysql_uri_is_understood_by_sqlalchemy_and_pymysql() -> None:
    creds = database_credentials(
        engine="mysql",
        host="h.example.test",
        port=3306,
        username="u_1",
        password=HOSTILE,
        database="app",
        tls=True,
    )
    kwargs = _pymysql_connect_args(creds["uri"])
    assert kwargs["password"] == HOSTILE and kwargs["user"] == "u_1" and kwargs["database"] == "app"
    # No TLS query parameter that PyMySQL would refuse as an unexpected keyword.
    accepted = set(inspect.signature(pymysql.connections.Connection.__init__).parameters)
    assert set(kwargs) <= accepted


def test_uri_shapes() -> None:
    assert build_uri("redis", host="h", port=6379, username=None, password="p@ss") == "redis://:p%40ss@h:6379"
    assert build_uri("redis", host="h", port=6379, username="u", password=None) == "redis://u@h:6379"
    assert (
        build_uri("redis", host="h", port=6379, username=None, password=None, path="2") == "redis://h:6379/2"
    )
    assert (
        build_uri("postgresql", host="::1", port=5432, username="u", password="p")
        == "postgresql://u:p@[::1]:5432"
    )
    assert (
        build_uri(
            "postgresql", host="h", port=1, username=None, password=None, path="my db", query={"a": "b c"}
        )
        == "postgresql://h:1/my%20db?a=b%20c"
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"scheme": "Postgres SQL"}, "scheme"),
        ({"host": ""}, "host"),
        ({"host": "h/x"}, "host"),
        ({"host": "user@h"}, "host"),
        ({"port": 0}, "port"),
        ({"port": 70000}, "port"),
        ({"port": True}, "port"),
        ({"port": "5432"}, "port"),
    ],
)
def test_bad_uri_parts_are_refused_without_showing_the_password(
    kwargs: dict[str, object], match: str
) -> None:
    arguments: dict[str, object] = {
        "scheme": "postgresql",
        "host": "h",
        "port": 5432,
        "username": "u",
        "password": "Sup3r-Secret!",
    }
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=match) as caught:
        build_uri(**arguments)  # type: ignore[arg-type]
    assert "Sup3r-Secret!" not in str(caught.value)


# ----------------------------------------------------------------- credential sets

# servicebinding.io entry names, plus the two documented exceptions.
ENTRY_NAME = re.compile(r"^[a-z0-9.-]{1,253}$")
EXCEPTIONS = {"tls_port", "jdbcUrl"}


def _check_keys(creds: dict[str, object]) -> None:
    for key in creds:
        assert ENTRY_NAME.match(key) or key in EXCEPTIONS, key
    for value in creds.values():
        assert isinstance(value, (str, int)) and not isinstance(value, bool)  # flat, no nulls


def test_postgresql_credentials_with_tls_and_jdbc() -> None:
    creds = database_credentials(
        engine="postgresql",
        host="pgm-1.pg.rds.aliyuncs.com",
        port=5432,
        username="ob_1234abcd",
        password=HOSTILE,
        database="app",
        tls=True,
        jdbc=True,
        provider="alibabacloud",
    )
    _check_keys(creds)
    assert creds["uri"].startswith("postgresql://ob_1234abcd:") and creds["uri"].endswith(
        "@pgm-1.pg.rds.aliyuncs.com:5432/app?sslmode=require"
    )
    urls = ("uri", "sqlalchemy-uri", "jdbcUrl")  # checked below and in test_sqlalchemy_uri.py
    assert {key: value for key, value in creds.items() if key not in urls} == {
        "host": "pgm-1.pg.rds.aliyuncs.com",
        "hostname": "pgm-1.pg.rds.aliyuncs.com",
        "port": 5432,
        "username": "ob_1234abcd",
        "password": HOSTILE,
        "database": "app",
        "name": "app",
        "type": "postgresql",
        "provider": "alibabacloud",
        "sslmode": "require",
    }
    conninfo = conninfo_to_dict(creds["uri"])
    assert conninfo["sslmode"] == "require" and conninfo["password"] == HOSTILE
    jdbc = creds["jdbcUrl"]
    assert jdbc.startswith("jdbc:postgresql://pgm-1.pg.rds.aliyuncs.com:5432/app?")
    query = parse_qs(urlsplit(jdbc.removeprefix("jdbc:")).query)
    assert query == {"user": ["ob_1234abcd"], "password": [HOSTILE], "sslmode": ["require"]}


def test_mysql_credentials() -> None:
    plain = database_credentials(
        engine="mysql",
        host="rm-1.mysql.rds.aliyuncs.com",
        port=3306,
        username="u",
        password="p",
        database="d",
        tls=False,
    )
    _check_keys(plain)
    assert plain["uri"] == "mysql://u:p@rm-1.mysql.rds.aliyuncs.com:3306/d"
    assert "sslmode" not in plain and "jdbcUrl" not in plain
    assert plain["type"] == "mysql" and plain["name"] == plain["database"] == "d"
    tls = database_credentials(
        engine="mysql", host="h", port=3306, username="u", password=HOSTILE, database="d", tls=True, jdbc=True
    )
    _check_keys(tls)
    assert "?" not in tls["uri"]  # see database_credentials: no portable TLS spelling for MySQL URIs
    query = parse_qs(urlsplit(tls["jdbcUrl"].removeprefix("jdbc:")).query)
    assert query == {
        "user": ["u"],
        "password": [HOSTILE],
        "useSSL": ["true"],
        "requireSSL": ["true"],
        "verifyServerCertificate": ["false"],
    }


def test_unknown_engine() -> None:
    with pytest.raises(ValueError, match="engine"):
        database_credentials(
            engine="oracle",  # type: ignore[arg-type]
            host="h",
            port=1,
            username="u",
            password="p",
            database="d",
            tls=False,
        )


def test_redis_credentials() -> None:
    plain = redis_credentials(
        host="r-1.redis.rds.aliyuncs.com", port=6379, username=None, password=HOSTILE, tls=False,
        provider="alibabacloud",
    )
    _check_keys(plain)
    assert plain["uri"].startswith("redis://:") and plain["uri"].endswith(
        "@r-1.redis.rds.aliyuncs.com:6379/0"
    )
    assert plain == {
        "uri": plain["uri"],
        "host": "r-1.redis.rds.aliyuncs.com",
        "hostname": "r-1.redis.rds.aliyuncs.com",
        "port": 6379,
        "password": HOSTILE,
        "database": "0",
        "type": "redis",
        "provider": "alibabacloud",
    }
    assert parse_url(plain["uri"])["password"] == HOSTILE
    tls = redis_credentials(host="h", port=6380, username="bind_ab12", password="p", tls=True, database=3)
    _check_keys(tls)
    assert tls["uri"] == "rediss://bind_ab12:p@h:6380/3"
    assert tls["username"] == "bind_ab12" and tls["database"] == "3"
    assert tls["tls_port"] == 6380 and tls["ssl"] == "true"
    parsed = parse_url(tls["uri"])
    assert parsed["username"] == "bind_ab12" and parsed["db"] == 3
    assert parsed["connection_class"].__name__ == "SSLConnection"


def test_the_provider_is_named_only_when_given() -> None:
    """The library names no cloud; the Alibaba brokers' credentials say ``alibabacloud``."""
    sql_login: dict[str, Any] = {"host": "h", "port": 5432, "username": "u", "password": "p", "database": "d"}
    redis_login: dict[str, Any] = {"host": "h", "port": 6379, "username": None, "password": "p"}
    assert "provider" not in database_credentials(engine="postgresql", tls=False, **sql_login)
    assert "provider" not in redis_credentials(tls=False, **redis_login)
    assert database_credentials(engine="mysql", tls=False, provider="acme", **sql_login)["provider"] == "acme"
    assert aliyun_credentials.database_credentials(engine="postgresql", tls=False, **sql_login) == {
        **database_credentials(engine="postgresql", tls=False, **sql_login),
        "provider": "alibabacloud",
    }
    assert aliyun_credentials.redis_credentials(tls=True, **redis_login)["provider"] == "alibabacloud"


@pytest.mark.parametrize("database", [-1, True, "0"])
def test_redis_database_must_be_an_index(database: object) -> None:
    with pytest.raises(ValueError, match="database"):
        redis_credentials(host="h", port=1, username=None, password="p", tls=False, database=database)  # type: ignore[arg-type]


def test_endpoints() -> None:
    assert endpoints_for("h.example.test", 3306) == (
        Endpoint(host="h.example.test", ports=("3306",), protocol="tcp"),
    )
    with pytest.raises(ValueError, match="port"):
        endpoints_for("h", 0)


# ------------------------------------------------------- real servers, real clients


def test_credentials_log_in_to_mariadb(mysql_admin_url: str) -> None:
    user = generate_account_name("ob_", unique_name("binding"), max_length=MYSQL_ACCOUNT_MAX_LENGTH)
    password = generate_password()
    admin = pymysql.connect(host=MYSQL_HOST, port=MYSQL_PORT, user="root", password="", autocommit=True)
    try:
        with admin.cursor() as cur:
            cur.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (user, password))
        creds = database_credentials(
            engine="mysql",
            host=MYSQL_HOST,
            port=MYSQL_PORT,
            username=user,
            password=password,
            database="information_schema",
            tls=False,
        )
        engine = create_engine(make_url(creds["uri"]).set(drivername="mysql+pymysql"))
        try:
            with engine.connect() as conn:
                assert conn.exec_driver_sql("SELECT CURRENT_USER()").scalar().startswith(f"{user}@")
        finally:
            engine.dispose()
        wrong = build_uri(
            "mysql+pymysql", host=MYSQL_HOST, port=MYSQL_PORT, username=user, password=password + "x"
        )
        with pytest.raises(Exception, match="Access denied"):
            create_engine(wrong).connect()
    finally:
        with admin.cursor() as cur:
            cur.execute("DROP USER IF EXISTS %s@'%%'", (user,))
        admin.close()


def test_credentials_log_in_to_postgresql(postgres_admin_url: str) -> None:

    user = generate_account_name("ob_", unique_name("binding"), max_length=POSTGRESQL_ACCOUNT_MAX_LENGTH)
    password = generate_password()
    with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(user), sql.Literal(password))
        )
    try:
        creds = database_credentials(
            engine="postgresql",
            host=PG_HOST,
            port=PG_PORT,
            username=user,
            password=password,
            database="postgres",
            tls=False,
        )
        with psycopg.connect(creds["uri"]) as conn:
            assert conn.execute("SELECT current_user").fetchone() == (user,)
    finally:
        with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(user)))


def test_credentials_log_in_to_redis_with_an_acl_user(redis_admin_url: str) -> None:
    user = generate_account_name("bind_", unique_name("binding"), max_length=REDIS_ACCOUNT_MAX_LENGTH)
    password = generate_password()
    admin = redis.Redis.from_url(redis_admin_url)
    admin.acl_setuser(user, enabled=True, passwords=[f"+{password}"], commands=["+ping", "+acl|whoami"])
    try:
        creds = redis_credentials(
            host=REDIS_HOST, port=REDIS_PORT, username=user, password=password, tls=False
        )
        client = redis.Redis.from_url(creds["uri"])
        try:
            assert client.ping() is True
            assert client.acl_whoami() == user
        finally:
            client.close()
        wrong = redis_credentials(
            host=REDIS_HOST, port=REDIS_PORT, username=user, password=password + "x", tls=False
        )
        with pytest.raises(redis.AuthenticationError):
            redis.Redis.from_url(wrong["uri"]).ping()
    finally:
        admin.acl_deluser(user)
        admin.close()
