"""Helpers for the RDS broker's tests: an emulator on loopback, settings, a served broker.

Everything is real: the emulator is the project's Alibaba emulator served over HTTP (and
backed by the real MariaDB/PostgreSQL when a test asks), the broker talks to it through
the real V1 SDK transport, and tests talk to the broker over HTTP with the platform-like
client. Only durations are shortened.
"""

from __future__ import annotations

import dataclasses
import secrets
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping
from urllib.parse import unquote, urlsplit

import psycopg
import pymysql
import requests
from aliyun_brokers.rds.broker import RdsBroker
from aliyun_brokers.rds.catalog import load_rds_catalog
from aliyun_brokers.rds.settings import RdsSettings

from openbroker_aliyun.aliyun.retry import RetryPolicy
from openbroker_aliyun.aliyun.sdk_client import SdkAliyunClient
from openbroker_aliyun.app import create_app, start_driver, stop_driver
from openbroker_aliyun.config import Credential
from openbroker_aliyun.emulator.app import create_emulator_app
from openbroker_aliyun.emulator.config import EmulatorConfig
from openbroker_aliyun.engine import DriverSettings
from openbroker_aliyun.store.encryption import generate_key
from openbroker_aliyun.testing.client import OSBClient, PollingPolicy
from openbroker_aliyun.testing.servers import serve_wsgi

KEY_ID = "rds-test-key"
KEY_SECRET = "rds-test-SECRET-0f9e8d7c"  # searched for in logs: must never appear

_CATALOG, _PLANS = load_rds_catalog()
SERVICES = {service.name: service for service in _CATALOG.services}
MYSQL = SERVICES["aliyun-rds-mysql"]
POSTGRES = SERVICES["aliyun-rds-postgresql"]


def plan_id(service: Any, name: str) -> str:
    return next(plan.id for plan in service.plans if plan.name == name)


@dataclass
class Emulator:
    """An emulator served on loopback, with its admin API at hand."""

    url: str

    def _admin(self, method: str, path: str, body: Any = None) -> Any:
        with requests.Session() as session:
            session.trust_env = False
            response = session.request(method, f"{self.url}/_emulator/{path}", json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def calls(self) -> dict[str, Any]:
        return self._admin("GET", "calls")

    def count(self, action: str | None = None, outcome: str | None = None) -> int:
        actions = self.calls()["products"].get("rds", {}).get("actions", {})
        total = 0
        for name, entry in actions.items():
            if action is None or name == action:
                total += entry["total"] if outcome is None else entry["outcomes"].get(outcome, 0)
        return total

    def reset_calls(self) -> None:
        self._admin("DELETE", "calls")

    def instances(self) -> list[dict[str, Any]]:
        return list(self._admin("GET", "instances")["rds"])

    def instances_of(self, osb_instance_id: str) -> list[dict[str, Any]]:
        return [i for i in self.instances() if i["Tags"].get("openbroker-instance") == osb_instance_id]

    def set_faults(self, rules: list[Any], seed: int | None = None) -> None:
        self._admin("PUT", "faults", {"rules": rules, "seed": seed} if seed is not None else {"rules": rules})

    def clear_faults(self) -> None:
        self._admin("DELETE", "faults")


@contextmanager
def emulator(**overrides: Any) -> Iterator[Emulator]:
    """The emulator with zero durations (unless overridden) and the test AccessKey."""
    config = EmulatorConfig.instant(access_keys={KEY_ID: KEY_SECRET}, **overrides)
    app = create_emulator_app(config)
    try:
        with serve_wsgi(app) as url:
            yield Emulator(url)
    finally:
        app.close()


def rds_settings(emulator_url: str, state_dir: str | Path, **overrides: Any) -> RdsSettings:
    """Settings of a broker under test, pointed at ``emulator_url``."""
    values: dict[str, Any] = {
        "credentials": (Credential(username="broker-test", password=secrets.token_urlsafe(18)),),
        "state_url": f"sqlite:///{Path(state_dir) / 'state.db'}",
        "encryption_keys": (generate_key(),),
        "host": "127.0.0.1",
        "port": 0,
        "log_level": "WARNING",
        "access_key_id": KEY_ID,
        "access_key_secret": KEY_SECRET,
        "region_id": "cn-hangzhou",
        "aliyun_endpoint": emulator_url,
        "broker_id": f"test-{secrets.token_hex(4)}",
        "vpc_id": "vpc-test",
        "vswitch_id": "vsw-test",
        "zone_id": "cn-hangzhou-h",
        "security_ips": ("127.0.0.1",),
        "refresh_seconds": 0.05,
        "lease_seconds": 2.0,
    }
    values.update(overrides)
    return RdsSettings(**values)


def fast_transport(settings: RdsSettings) -> SdkAliyunClient:
    """The real transport, with retry sleeps shortened for tests."""
    aliyun = dataclasses.replace(settings.aliyun(), retry=RetryPolicy(max_attempts=6, base_s=0.02, cap_s=0.2))
    return SdkAliyunClient(aliyun)


class RecordingPort:
    """The real transport, noting every password the broker sends (to search logs for them)."""

    def __init__(self, inner: SdkAliyunClient) -> None:
        self.inner = inner
        self.passwords: list[str] = []

    def call(
        self, product: Any, action: str, params: Mapping[str, Any], *, idempotent: bool = False
    ) -> dict[str, Any]:
        if "AccountPassword" in params:
            self.passwords.append(str(params["AccountPassword"]))
        return self.inner.call(product, action, params, idempotent=idempotent)


FAST_DRIVER = DriverSettings(poll_interval=0.02, lease_seconds=2.0, backoff_base=0.05, backoff_cap=0.5)


@dataclass
class RunningRds:
    url: str
    client: OSBClient
    broker: RdsBroker
    settings: RdsSettings
    port: RecordingPort


@contextmanager
def rds_broker(
    settings: RdsSettings | None = None, *, emulator_url: str | None = None
) -> Iterator[RunningRds]:
    """Serve an RdsBroker over real HTTP with its engine driver running."""
    with tempfile.TemporaryDirectory(prefix="rds-test-") as state_dir:
        if settings is None:
            assert emulator_url is not None
            settings = rds_settings(emulator_url, state_dir)
        port = RecordingPort(fast_transport(settings))
        broker = RdsBroker(settings, port)
        app = create_app(broker, settings, driver_settings=FAST_DRIVER)
        start_driver(app)
        try:
            with serve_wsgi(app) as url:
                credential = settings.credentials[0]
                client = OSBClient(
                    url,
                    credential.username,
                    credential.password,
                    polling=PollingPolicy(interval=0.05, interval_cap=0.2, max_duration=90),
                )
                try:
                    yield RunningRds(url, client, broker, settings, port)
                finally:
                    client.session.close()
        finally:
            stop_driver(app, timeout=10)


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
