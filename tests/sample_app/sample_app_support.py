"""Helpers of the sample app's tests: the emulator, both brokers, the app under gunicorn.

Everything is real: the emulator (RDS instances on the real MariaDB/PostgreSQL, one
``redis-server`` per R-kvstore instance) over HTTP, the ``rds-broker`` and
``redis-broker`` plug-ins through the real V1 SDK transport and served by the test kit,
and examples/sample_app run by gunicorn with the command of its manifest.yml.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests
import yaml

from openbroker_aliyun.aliyun.retry import RetryPolicy
from openbroker_aliyun.aliyun.sdk_client import SdkAliyunClient
from openbroker_aliyun.engine import DriverSettings
from openbroker_aliyun.testing.client import OSBClient, PollingPolicy
from openbroker_aliyun.testing.profiles import CloudFoundryProfile
from openbroker_aliyun.testing.servers import RunningBroker, broker_server, throwaway_settings

if TYPE_CHECKING:
    from aliyun_brokers.common.settings import CloudBrokerSettings

    from openbroker_aliyun.broker import ServiceBroker

ROOT = Path(__file__).resolve().parents[2]
APP_DIR = ROOT / "examples" / "sample_app"

KEY_ID = "sample-app-key"
KEY_SECRET = "sample-app-SECRET-5e4d3c2b"

FAST_DRIVER = DriverSettings(poll_interval=0.02, lease_seconds=2.0, backoff_base=0.05, backoff_cap=0.5)
POLLING = PollingPolicy(interval=0.05, interval_cap=0.2, max_duration=90)


def manifest_command() -> list[str]:
    """The ``command`` of the sample app's manifest.yml, as an argument list."""
    manifest = yaml.safe_load((APP_DIR / "manifest.yml").read_text(encoding="utf-8"))
    [application] = manifest["applications"]
    return shlex.split(application["command"])


# ------------------------------------------------------------------------------ brokers


def _cloud_settings(kind: type[CloudBrokerSettings], emulator_url: str, state_dir: Path) -> Any:
    base = throwaway_settings(state_dir)
    values: dict[str, Any] = {spec.name: getattr(base, spec.name) for spec in dataclasses.fields(base)}
    values.update(
        access_key_id=KEY_ID,
        access_key_secret=KEY_SECRET,
        region_id="cn-hangzhou",
        aliyun_endpoint=emulator_url,
        broker_id=f"sample-{secrets.token_hex(4)}",
        vpc_id="vpc-test",
        vswitch_id="vsw-test",
        zone_id="cn-hangzhou-h",
        security_ips=("127.0.0.1",),
        refresh_seconds=0.05,
        lease_seconds=2.0,
    )
    return kind(**values)


def _transport(settings: CloudBrokerSettings) -> SdkAliyunClient:
    """The real transport, with retry sleeps shortened for tests."""
    aliyun = dataclasses.replace(settings.aliyun(), retry=RetryPolicy(max_attempts=6, base_s=0.02, cap_s=0.2))
    return SdkAliyunClient(aliyun)


@contextmanager
def serve_broker(
    product: str, emulator_url: str, state_dir: Path, profile: CloudFoundryProfile
) -> Iterator[RunningBroker]:
    """``rds`` or ``redis``: the broker served over HTTP, its client acting as ``profile``."""
    # Imported here: the start-up tests of the app use this module without any broker.
    from aliyun_brokers.common.settings import CloudBrokerSettings
    from aliyun_brokers.rds.broker import RdsBroker
    from aliyun_brokers.rds.settings import RdsSettings
    from aliyun_brokers.redis.broker import RedisBroker

    state_dir.mkdir()
    broker: ServiceBroker
    settings: CloudBrokerSettings
    if product == "rds":
        rds_settings: RdsSettings = _cloud_settings(RdsSettings, emulator_url, state_dir)
        broker, settings = RdsBroker(rds_settings, _transport(rds_settings)), rds_settings
    else:
        settings = _cloud_settings(CloudBrokerSettings, emulator_url, state_dir)
        broker = RedisBroker(settings, _transport(settings))
    with broker_server(broker, settings, driver=FAST_DRIVER, profile=profile, polling=POLLING) as running:
        yield running


# ----------------------------------------------------------------------------- the app


@dataclass
class RunningApp:
    """The sample app under gunicorn: its URL and its combined stdout/stderr so far."""

    url: str
    process: subprocess.Popen[bytes]
    output_path: Path

    def output(self) -> str:
        return self.output_path.read_text(encoding="utf-8", errors="replace")

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.get(self.url + path, timeout=10, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.post(self.url + path, timeout=10, **kwargs)


def app_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The test's environment without what Cloud Foundry would set, plus ``extra``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("VCAP_") and key not in ("PORT", "GUNICORN_CMD_ARGS")
    }
    env.update(extra)
    return env


def gunicorn_argv() -> list[str]:
    """The manifest's command with this interpreter's gunicorn, listening on loopback only."""
    command = manifest_command()
    assert command[0] == "gunicorn", command
    return [sys.executable, "-m", "gunicorn", *command[1:], "--bind", "127.0.0.1:0"]


@contextmanager
def run_app(env: Mapping[str, str], output_path: Path) -> Iterator[RunningApp]:
    """Start the app as its manifest does; yields once gunicorn listens, stops it after."""
    with output_path.open("ab") as sink:
        start = sink.tell()  # the file may hold earlier runs: read this one's lines only
        process = subprocess.Popen(
            gunicorn_argv(), cwd=APP_DIR, env=app_env(env), stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        running = RunningApp(_wait_listening(process, output_path, start), process, output_path)
        _wait_serving(running)
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def failed_start(env: Mapping[str, str], output_path: Path) -> tuple[int, str]:
    """Run the app expecting it to refuse to start: its exit code and output."""
    with output_path.open("ab") as sink:
        result = subprocess.run(
            gunicorn_argv(), cwd=APP_DIR, env=app_env(env), stdout=sink, stderr=subprocess.STDOUT, timeout=60
        )
    return result.returncode, output_path.read_text(encoding="utf-8", errors="replace")


def _wait_listening(process: subprocess.Popen[bytes], output_path: Path, start: int) -> str:
    marker = "Listening at: "
    for _ in range(600):  # bounded: about 30 s
        text = output_path.read_bytes()[start:].decode("utf-8", errors="replace")
        if marker in text:
            return text.split(marker, 1)[1].split()[0]
        if process.poll() is not None:
            raise AssertionError(f"the sample app exited with {process.returncode}:\n{text}")
        time.sleep(0.05)
    raise AssertionError("the sample app did not start listening")


def _wait_serving(app: RunningApp) -> None:
    """Until a worker answers (the listener exists before the workers have booted)."""
    for _ in range(300):  # bounded: about 30 s
        try:
            app.get("/health")
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError("the sample app did not answer")


def broker_catalogs(*clients: OSBClient) -> dict[str, Any]:
    """One catalog with every broker's offerings, as the Cloud Controller holds them."""
    services: list[Any] = []
    for client in clients:
        answer = client.catalog()
        assert answer.status == 200, answer.summary()
        services += answer.json["services"]
    return {"services": services}
