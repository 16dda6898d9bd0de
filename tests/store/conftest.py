"""Fixtures of the store tests: one fresh database per test on each server."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty database: a SQLite file, a PostgreSQL or a MariaDB database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    if request.param == "postgresql":
        return str(request.getfixturevalue("postgres_database"))
    return str(request.getfixturevalue("mysql_database"))
