"""Where the real PostgreSQL, MariaDB and Redis servers are, and how tests ask for them.

Imported by tests/conftest.py and by test modules that need the addresses (a module
name of its own: ``from conftest import`` is ambiguous with several conftest files).
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import pytest

PG_HOST, PG_PORT = "127.0.0.1", 5432
MYSQL_HOST, MYSQL_PORT = "127.0.0.1", 3306
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", f"postgresql://postgres@{PG_HOST}:{PG_PORT}/postgres")
MYSQL_ADMIN_URL = os.environ.get("TEST_MYSQL_URL", f"mysql://root@{MYSQL_HOST}:{MYSQL_PORT}/")
REDIS_ADMIN_URL = os.environ.get("TEST_REDIS_URL", f"redis://{REDIS_HOST}:{REDIS_PORT}/0")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip (laptop) or fail (CI) when a server is not listening."""
    if _reachable(host, port):
        return
    missing(f"{name} is not reachable on {host}:{port}", "start it")


def missing(message: str, remedy: str) -> NoReturn:
    """Skip the test (laptop) or fail it (CI) because of what ``message`` says is missing."""
    if _in_ci():
        pytest.fail(f"{message}; CI must provide it", pytrace=False)
    pytest.skip(f"{message} ({remedy} to run this test)")


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_redis_server() -> str:
    """The redis-server binary the emulator runs per instance: skip on a laptop without it, fail in CI."""
    binary = shutil.which("redis-server")
    if binary is not None:
        return binary
    missing("redis-server is not installed", "install it")


def unique_name(prefix: str) -> str:
    """A short unique lower-case identifier, valid as a database or user name."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@contextmanager
def fresh_postgres_database(admin_url: str = PG_ADMIN_URL) -> Iterator[str]:
    """A new PostgreSQL database, dropped afterwards; yields a SQLAlchemy URL to it."""
    import psycopg

    name = unique_name("t")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_mysql_database() -> Iterator[str]:
    """A new MariaDB database, dropped afterwards; yields a SQLAlchemy URL to it."""
    import pymysql

    name = unique_name("t")
    conn = pymysql.connect(host=MYSQL_HOST, port=MYSQL_PORT, user="root", password="", autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}`")
        yield f"mysql+pymysql://root@{MYSQL_HOST}:{MYSQL_PORT}/{name}"
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()
