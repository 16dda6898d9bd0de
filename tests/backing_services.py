"""Where the real PostgreSQL, MariaDB and Redis servers are, and how tests ask for them.

Imported by tests/conftest.py and by test modules that need the addresses (a module
name of its own: ``from conftest import`` is ambiguous with several conftest files).
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid

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
    message = f"{name} is not reachable on {host}:{port}"
    if _in_ci():
        pytest.fail(f"{message}; CI must provide it", pytrace=False)
    pytest.skip(f"{message} (start it to run this test)")


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_redis_server() -> str:
    """The redis-server binary the emulator runs per instance: skip on a laptop without it, fail in CI."""
    binary = shutil.which("redis-server")
    if binary is not None:
        return binary
    if _in_ci():
        pytest.fail("redis-server is not installed; CI must provide it", pytrace=False)
    pytest.skip("redis-server is not installed (install it to run this test)")


def unique_name(prefix: str) -> str:
    """A short unique lower-case identifier, valid as a database or user name."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"
