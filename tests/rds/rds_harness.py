"""Helpers for the RDS broker's tests: the shared harness (tests/broker_harness.py) with the
RDS catalog, AccessKey and settings, and SQL through a binding's credentials.

Everything is real: the emulator (backed by the real MariaDB/PostgreSQL when a test
asks), the V1 SDK transport, HTTP and the platform-like client. Only durations are
shortened.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import broker_harness
import psycopg
import pymysql
from aliyun_brokers.rds.broker import RdsBroker
from aliyun_brokers.rds.catalog import load_rds_catalog
from aliyun_brokers.rds.settings import RdsSettings
from broker_harness import Emulator, Running, fast_transport

__all__ = [
    "KEY_ID",
    "KEY_SECRET",
    "MYSQL",
    "POSTGRES",
    "Emulator",
    "RunningRds",
    "connect",
    "emulator",
    "execute",
    "fast_transport",
    "plan_id",
    "rds_broker",
    "rds_settings",
]

KEY_ID = "rds-test-key"
KEY_SECRET = "rds-test-SECRET-0f9e8d7c"  # searched for in logs: must never appear

_CATALOG, _PLANS = load_rds_catalog()
SERVICES = {service.name: service for service in _CATALOG.services}
MYSQL = SERVICES["aliyun-rds-mysql"]
POSTGRES = SERVICES["aliyun-rds-postgresql"]

RunningRds = Running[RdsBroker, RdsSettings]


def plan_id(service: Any, name: str) -> str:
    return next(plan.id for plan in service.plans if plan.name == name)


def emulator(**overrides: Any) -> AbstractContextManager[Emulator]:
    """The emulator with zero durations (unless overridden) and the test AccessKey."""
    return broker_harness.emulator("rds", KEY_ID, KEY_SECRET, **overrides)


def rds_settings(emulator_url: str, state_dir: str | Path, **overrides: Any) -> RdsSettings:
    """Settings of a broker under test, pointed at ``emulator_url``."""
    return broker_harness.settings_for_tests(
        RdsSettings, emulator_url, state_dir, key_id=KEY_ID, key_secret=KEY_SECRET, **overrides
    )


def rds_broker(
    settings: RdsSettings | None = None, *, emulator_url: str | None = None
) -> AbstractContextManager[RunningRds]:
    """Serve an RdsBroker over real HTTP with its engine driver running."""
    return broker_harness.running_broker(RdsBroker, settings, emulator_url, rds_settings)


# -- using credentials like an app would ------------------------------------------------------


def connect(credentials: dict[str, Any]) -> Any:
    """A DB-API connection made from the binding's ``uri`` alone, as an app would."""
    parts = urlsplit(credentials["uri"])
    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    database = unquote(parts.path.lstrip("/"))
    if parts.scheme == "mysql":
        return pymysql.connect(
            host=parts.hostname,
            port=parts.port,
            user=user,
            password=password,
            database=database,
            autocommit=True,
        )
    assert parts.scheme == "postgresql", parts.scheme
    return psycopg.connect(credentials["uri"], autocommit=True, connect_timeout=5)


def execute(credentials: dict[str, Any], statement: str) -> list[tuple[Any, ...]]:
    conn = connect(credentials)
    try:
        cursor = conn.cursor()
        cursor.execute(statement)
        rows = list(cursor.fetchall()) if cursor.description else []
        cursor.close()
        return rows
    finally:
        conn.close()
