"""Helpers for the Redis broker's tests: an emulator on loopback, settings, a served broker.

Everything is real: the emulator is the project's Alibaba emulator served over HTTP (its
R-kvstore instances backed by real ``redis-server`` child processes when a test asks),
the broker talks to it through the real V1 SDK transport, and tests talk to the broker
over HTTP with the platform-like client. Only durations are shortened.
"""

from __future__ import annotations

import dataclasses
import secrets
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import requests
from aliyun_brokers.common.settings import CloudBrokerSettings
from aliyun_brokers.redis.broker import RedisBroker
from aliyun_brokers.redis.catalog import load_redis_catalog

from openbroker_aliyun.aliyun.retry import RetryPolicy
from openbroker_aliyun.aliyun.sdk_client import SdkAliyunClient
from openbroker_aliyun.app import create_app, start_driver, stop_driver
from openbroker_aliyun.emulator.app import EmulatorApp, create_emulator_app
from openbroker_aliyun.emulator.config import EmulatorConfig
from openbroker_aliyun.engine import DriverSettings
from openbroker_aliyun.testing.client import OSBClient, PollingPolicy
from openbroker_aliyun.testing.servers import serve_wsgi, throwaway_settings

KEY_ID = "redis-test-key"
KEY_SECRET = "redis-test-SECRET-7a6b5c4d"  # searched for in logs and descriptions: must never appear

CATALOG, PLANS = load_redis_catalog()
[REDIS] = CATALOG.services
PRODUCT = "r-kvstore"


def plan_id(name: str) -> str:
    return next(plan.id for plan in REDIS.plans if plan.name == name)


@dataclass
class Emulator:
    """An emulator served on loopback: its admin API, and its redis-server children."""

    url: str
    app: EmulatorApp

    def _admin(self, method: str, path: str, body: Any = None) -> Any:
        with requests.Session() as session:
            session.trust_env = False
            response = session.request(method, f"{self.url}/_emulator/{path}", json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def count(self, action: str | None = None, outcome: str | None = None) -> int:
        """R-kvstore calls so far, of one action and outcome (``ok``, ``Throttling``...) or all."""
        actions = self._admin("GET", "calls")["products"].get(PRODUCT, {}).get("actions", {})
        return sum(
            entry["total"] if outcome is None else entry["outcomes"].get(outcome, 0)
            for name, entry in actions.items()
            if action is None or name == action
        )

    def faulted(self) -> int:
        """R-kvstore calls answered with an injected fault."""
        actions = self._admin("GET", "calls")["products"].get(PRODUCT, {}).get("actions", {})
        return sum(
            n for entry in actions.values() for outcome, n in entry["outcomes"].items() if outcome != "ok"
        )

    def reset_calls(self) -> None:
        self._admin("DELETE", "calls")

    def instances(self) -> list[dict[str, Any]]:
        return list(self._admin("GET", "instances")[PRODUCT])

    def instances_of(self, osb_instance_id: str) -> list[dict[str, Any]]:
        return [i for i in self.instances() if i["Tags"].get("openbroker-instance") == osb_instance_id]

    def wait_created(self, osb_instance_id: str) -> dict[str, Any]:
        """The cloud instance of ``osb_instance_id``, once the broker's create call has made it."""
        for _ in range(250):  # bounded: about 5 s
            found = self.instances_of(osb_instance_id)
            if found:
                [instance] = found
                return instance
            time.sleep(0.02)
        raise AssertionError("the broker made no instance")

    def set_faults(self, rules: list[Any], seed: int | None = None) -> None:
        self._admin("PUT", "faults", {"rules": rules} if seed is None else {"rules": rules, "seed": seed})

    def redis_children(self) -> dict[str, int]:
        """Instance id → port of the live ``redis-server`` children."""
        processes = self.app.redis_processes()
        return processes.running() if processes is not None else {}


def redis_server_binary() -> str | None:
    return shutil.which("redis-server")


@contextmanager
def emulator(*, backed: bool = False, **overrides: Any) -> Iterator[Emulator]:
    """The emulator with zero durations (unless overridden); ``backed``: real redis-server children."""
    config = EmulatorConfig.instant(access_keys={KEY_ID: KEY_SECRET}, redis=backed, **overrides)
    app = create_emulator_app(config)
    try:
        with serve_wsgi(app) as url:
            yield Emulator(url, app)
    finally:
        app.close()


def redis_settings(emulator_url: str, state_dir: str | Path, **overrides: Any) -> CloudBrokerSettings:
    """Settings of a broker under test (the framework's throw-away ones), pointed at ``emulator_url``."""
    base = throwaway_settings(state_dir, log_level="WARNING")
    values: dict[str, Any] = {spec.name: getattr(base, spec.name) for spec in dataclasses.fields(base)}
    values.update(
        access_key_id=KEY_ID,
        access_key_secret=KEY_SECRET,
        region_id="cn-hangzhou",
        aliyun_endpoint=emulator_url,
        broker_id=f"test-{secrets.token_hex(4)}",
        vpc_id="vpc-test",
        vswitch_id="vsw-test",
        zone_id="cn-hangzhou-h",
        security_ips=("127.0.0.1",),
        refresh_seconds=0.05,
        lease_seconds=2.0,
    )
    values.update(overrides)
    return CloudBrokerSettings(**values)


def fast_transport(settings: CloudBrokerSettings) -> SdkAliyunClient:
    """The real transport, with retry sleeps shortened for tests."""
    aliyun = dataclasses.replace(settings.aliyun(), retry=RetryPolicy(max_attempts=6, base_s=0.02, cap_s=0.2))
    return SdkAliyunClient(aliyun)


FAST_DRIVER = DriverSettings(poll_interval=0.02, lease_seconds=2.0, backoff_base=0.05, backoff_cap=0.5)


@dataclass
class RunningRedis:
    url: str
    client: OSBClient
    broker: RedisBroker
    settings: CloudBrokerSettings


@contextmanager
def redis_broker(
    settings: CloudBrokerSettings | None = None, *, emulator_url: str | None = None
) -> Iterator[RunningRedis]:
    """Serve a RedisBroker over real HTTP with its engine driver running."""
    with tempfile.TemporaryDirectory(prefix="redis-test-") as state_dir:
        if settings is None:
            assert emulator_url is not None
            settings = redis_settings(emulator_url, state_dir)
        broker = RedisBroker(settings, fast_transport(settings))
        app = create_app(broker, settings, driver_settings=FAST_DRIVER)
        start_driver(app)
        try:
            with serve_wsgi(app) as url:
                credential = settings.credentials[0]
                polling = PollingPolicy(interval=0.05, interval_cap=0.2, max_duration=90)
                client = OSBClient(url, credential.username, credential.password, polling=polling)
                try:
                    yield RunningRedis(url, client, broker, settings)
                finally:
                    client.session.close()
        finally:
            stop_driver(app, timeout=10)


def wait_final(client: OSBClient, instance_id: str) -> dict[str, Any]:
    """Poll the instance's last_operation until it ends: its body, or ``{"state": "gone"}`` on 410."""
    for _ in range(600):  # bounded: about a minute
        poll = client.last_operation(instance_id)
        if poll.status == 410:
            return {"state": "gone"}
        if poll.status == 200 and poll.json.get("state") != "in progress":
            return dict(poll.json)
        time.sleep(0.1)
    raise AssertionError("the operation did not finish")
