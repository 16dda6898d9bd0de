"""What the tests of the Alibaba brokers share: an emulator on loopback, a broker served over
real HTTP with its engine driver running, settings pointed at the emulator.

Everything is real: the emulator is the project's Alibaba emulator served over HTTP (backed
by real MariaDB/PostgreSQL or redis-server processes when a test asks), the broker talks
to it through the real V1 SDK transport, and tests talk to the broker over HTTP with the
platform-like client. Only durations are shortened. ``tests/rds/rds_harness.py`` and
``tests/redis/redis_harness.py`` add each product's catalog and defaults.
"""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
import signal
import subprocess
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Generic, Iterator, Mapping, Sequence, TypeVar

from aliyun_brokers.common.cli import emulator_settings
from aliyun_brokers.common.naming import TAG_INSTANCE
from aliyun_brokers.common.settings import CloudBrokerSettings

from openbroker_aliyun.aliyun.port import AliyunPort, Product
from openbroker_aliyun.aliyun.retry import RetryPolicy
from openbroker_aliyun.aliyun.sdk_client import SdkAliyunClient
from openbroker_aliyun.broker import ServiceBroker
from openbroker_aliyun.domain import InstanceOperation, InstanceRecord, OperationKind
from openbroker_aliyun.emulator import EmulatorConfig, EmulatorServer
from openbroker_aliyun.emulator.admin_client import EmulatorAdmin
from openbroker_aliyun.emulator.app import EmulatorApp
from openbroker_aliyun.engine import DriverSettings
from openbroker_aliyun.testing.client import OSBClient, PollingPolicy
from openbroker_aliyun.testing.servers import broker_server

SettingsT = TypeVar("SettingsT", bound=CloudBrokerSettings)
BrokerT = TypeVar("BrokerT", bound=ServiceBroker)

#: The engine driver of a broker under test: steps and retries within milliseconds.
FAST_DRIVER = DriverSettings(poll_interval=0.02, lease_seconds=2.0, backoff_base=0.05, backoff_cap=0.5)
#: How the test client polls last_operation.
POLLING = PollingPolicy(interval=0.05, interval_cap=0.2, max_duration=90)


class Emulator(EmulatorAdmin):
    """An emulator served on loopback: its admin API for one product, and the app itself."""

    def __init__(self, url: str, product: Product, app: EmulatorApp) -> None:
        super().__init__(url, product, instance_tag=TAG_INSTANCE)
        self.app = app

    def redis_children(self) -> dict[str, int]:
        """Instance id → port of the live ``redis-server`` children."""
        processes = self.app.redis_processes()
        return processes.running() if processes is not None else {}


@contextmanager
def emulator(product: Product, key_id: str, key_secret: str, **overrides: Any) -> Iterator[Emulator]:
    """The emulator with zero durations (unless overridden), accepting one AccessKey."""
    config = EmulatorConfig.instant(access_keys={key_id: key_secret}, **overrides)
    with EmulatorServer(config) as server:
        yield Emulator(server.url, product, server.app)


def settings_for_tests(
    settings_class: type[SettingsT],
    emulator_url: str,
    state_dir: str | Path,
    *,
    key_id: str,
    key_secret: str,
    **overrides: Any,
) -> SettingsT:
    """Settings of a broker under test, pointed at ``emulator_url``: a broker id of its own,
    fast describes and leases, quiet logs."""
    # A test may give other keys (e.g. a wrong secret).
    key_id = overrides.pop("access_key_id", key_id)
    key_secret = overrides.pop("access_key_secret", key_secret)
    values: dict[str, Any] = {
        "log_level": "WARNING",
        "broker_id": f"test-{secrets.token_hex(4)}",
        "vpc_id": "vpc-test",
        "vswitch_id": "vsw-test",
        "refresh_seconds": 0.05,
        "lease_seconds": 2.0,
        **overrides,
    }
    return emulator_settings(
        settings_class,
        emulator_url,
        access_key_id=key_id,
        access_key_secret=key_secret,
        state_dir=state_dir,
        **values,
    )


def fast_transport(settings: CloudBrokerSettings) -> SdkAliyunClient:
    """The real transport, with retry sleeps shortened for tests."""
    aliyun = dataclasses.replace(settings.aliyun(), retry=RetryPolicy(max_attempts=6, base_s=0.02, cap_s=0.2))
    return SdkAliyunClient(aliyun)


class RecordingPort:
    """The real transport, noting every password the broker sends (to search logs for them)."""

    def __init__(self, inner: SdkAliyunClient) -> None:
        self.inner = inner
        self.passwords: list[str] = []

    def call(
        self, product: Product, action: str, params: Mapping[str, Any], *, idempotent: bool = False
    ) -> dict[str, Any]:
        for key in ("AccountPassword", "Password"):
            if key in params:
                self.passwords.append(str(params[key]))
        return self.inner.call(product, action, params, idempotent=idempotent)


@dataclass
class Running(Generic[BrokerT, SettingsT]):
    """A broker served over HTTP: its URL, a client logged in to it, and its parts."""

    url: str
    client: OSBClient
    broker: BrokerT
    settings: SettingsT
    port: RecordingPort


@contextmanager
def running_broker(
    make_broker: Callable[[SettingsT, AliyunPort], BrokerT],
    settings: SettingsT | None,
    emulator_url: str | None,
    default_settings: Callable[[str, str], SettingsT],
) -> Iterator[Running[BrokerT, SettingsT]]:
    """Serve ``make_broker(settings, port)`` over real HTTP with its engine driver running.

    Without ``settings``, ``default_settings(emulator_url, state_dir)`` in a temporary
    directory.
    """
    with tempfile.TemporaryDirectory(prefix="broker-test-") as state_dir:
        if settings is None:
            assert emulator_url is not None, "give settings or an emulator_url"
            settings = default_settings(emulator_url, state_dir)
        port = RecordingPort(fast_transport(settings))
        broker = make_broker(settings, port)
        with broker_server(broker, settings, driver=FAST_DRIVER, polling=POLLING) as (url, client):
            yield Running(url, client, broker, settings, port)


def assert_refused_before_anything(
    client: OSBClient,
    cloud: EmulatorAdmin,
    service_id: str,
    plan_id: str,
    cases: Sequence[tuple[dict[str, Any], str]],
) -> None:
    """Each provision with bad ``parameters`` is answered 400 naming the ``field``, and no
    Alibaba call is made for any of them."""
    cloud.reset_calls()
    for parameters, field in cases:
        response = client.provision(str(uuid.uuid4()), service_id, plan_id, parameters=parameters)
        assert response.status == 400, (parameters, response.summary())
        assert field in (response.description or "")
    assert cloud.count() == 0


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


def provision_operation(
    instance_id: str, service_id: str, plan_id: str, parameters: dict[str, Any], details: dict[str, Any]
) -> InstanceOperation:
    """A provision operation to drive a broker's steps by hand, its record holding ``details``."""
    record = InstanceRecord(id=instance_id, service_id=service_id, plan_id=plan_id, details=details)
    return InstanceOperation(
        id="op-1", kind=OperationKind.PROVISION, instance=record, plan_id=plan_id, parameters=parameters
    )


@dataclass
class Demo:
    """A ``<broker> --demo`` process and what it printed."""

    process: subprocess.Popen[str]
    #: Everything it printed up to the banner's last line (its start-up log lines first).
    banner: str
    url: str
    username: str
    password: str
    #: What the process printed after the banner, once it has stopped.
    farewell: str = ""
    returncode: int | None = None

    @property
    def output(self) -> str:
        return self.banner + self.farewell


#: How the demo writes a log line: ``12:01:02 INFO openbroker_aliyun.engine: message``.
TEXT_LOG_LINE = re.compile(r"^\d\d:\d\d:\d\d (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: ")


@contextmanager
def demo(command: Sequence[str], env: Mapping[str, str], stop_signal: int = signal.SIGINT) -> Iterator[Demo]:
    """Run ``command`` (a broker with ``--demo``), read its banner; ``stop_signal`` it at the end
    (its whole process group) and wait, bounded, for it to exit."""
    process = subprocess.Popen(
        list(command),
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        for _ in range(80):  # the banner is about 20 lines, after about 10 log lines
            lines.append(process.stdout.readline())
            if "Stop it with Ctrl-C." in lines[-1] or not lines[-1]:
                break
        banner = "".join(lines)
        found = [
            re.search(pattern, banner)
            for pattern in (r"an OSB broker at (http://\S+)", r"username: (\S+)", r"password: (\S+)")
        ]
        assert all(found), banner
        url, username, password = (match.group(1) for match in found if match is not None)
        running = Demo(process, banner, url, username, password)
        yield running
    finally:
        if process.poll() is None:
            os.killpg(process.pid, stop_signal)
        try:
            remaining, _ = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate(timeout=10)
            raise
    running.farewell, running.returncode = remaining, process.returncode


def demo_env(tmpdir: Path) -> dict[str, str]:
    """This process's environment without broker settings or proxies, with ``TMPDIR`` set
    to ``tmpdir``: a demo's temporary folders go there, where a test sees what is left."""
    drop = ("PROXY", "BROKER_", "ALIBABA_CLOUD_", "RDS_", "PORT")
    env = {key: value for key, value in os.environ.items() if not any(part in key.upper() for part in drop)}
    return {**env, "TMPDIR": str(tmpdir)}


def assert_readable_output(running: Demo) -> None:
    """No JSON line anywhere; log lines in the text format, some before the banner, none in it."""
    lines = [line for line in running.output.splitlines() if line.strip()]
    assert not [line for line in lines if line.lstrip().startswith("{")], running.output
    start = next(i for i, line in enumerate(lines) if " demo: an OSB broker at " in line)
    end = next(i for i, line in enumerate(lines) if "Stop it with Ctrl-C." in line)
    assert any(TEXT_LOG_LINE.match(line) for line in lines[:start]), running.output
    assert not [line for line in lines[start:end] if TEXT_LOG_LINE.match(line)], "a log line in the banner"
