"""Shared fixtures: the real PostgreSQL, MariaDB and Redis servers, one database per test.

On a laptop without these servers the tests that need them are skipped, with the reason
shown by ``pytest -ra``. In CI (``CI=true``) a missing server is a failure, never a skip.
"""

from __future__ import annotations

from typing import Iterator

import pytest
from backing_services import (
    MYSQL_ADMIN_URL,
    MYSQL_HOST,
    MYSQL_PORT,
    PG_ADMIN_URL,
    PG_HOST,
    PG_PORT,
    REDIS_ADMIN_URL,
    REDIS_HOST,
    REDIS_PORT,
    fresh_mysql_database,
    fresh_postgres_database,
    require_redis_server,
    require_service,
)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both Aliyun SDKs send loopback calls to an HTTP_PROXY even with NO_PROXY set."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def postgres_admin_url() -> str:
    require_service("PostgreSQL", PG_HOST, PG_PORT)
    return PG_ADMIN_URL


@pytest.fixture
def mysql_admin_url() -> str:
    require_service("MariaDB", MYSQL_HOST, MYSQL_PORT)
    return MYSQL_ADMIN_URL


@pytest.fixture
def redis_admin_url() -> str:
    require_service("Redis", REDIS_HOST, REDIS_PORT)
    return REDIS_ADMIN_URL


@pytest.fixture
def redis_server() -> str:
    """The redis-server binary, for emulators whose R-kvstore instances are real processes."""
    return require_redis_server()


@pytest.fixture
def postgres_database(postgres_admin_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one test; yields a SQLAlchemy URL to it."""
    with fresh_postgres_database(postgres_admin_url) as url:
        yield url


@pytest.fixture
def mysql_database(mysql_admin_url: str) -> Iterator[str]:
    """A fresh MariaDB database for one test; yields a SQLAlchemy URL to it."""
    with fresh_mysql_database() as url:
        yield url
