"""Fixtures of the RDS broker's tests: an emulator backed by the real MariaDB and PostgreSQL."""

from __future__ import annotations

from typing import Iterator

import pytest
from rds_harness import Emulator, emulator


@pytest.fixture
def backed_emulator(mysql_admin_url: str, postgres_admin_url: str) -> Iterator[Emulator]:
    """A zero-delay emulator whose MySQL and PostgreSQL instances are databases on the real servers."""
    with emulator(mysql_url=mysql_admin_url, postgres_url=postgres_admin_url) as running:
        yield running
