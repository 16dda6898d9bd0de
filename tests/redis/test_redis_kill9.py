"""``redis-broker`` killed with SIGKILL in the middle of a provision and of a deprovision: the
next broker process, on the same state store, finishes both. One instance, nothing left.

The brokers are the real console script (gunicorn, its workers, the engine driver); the
emulator runs in the test process with real redis-server children, so it outlives them.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
import redis
import requests
import yaml
from broker_harness import wait_final
from redis_harness import KEY_ID, KEY_SECRET, REDIS, Emulator, emulator, plan_id

from openbroker_aliyun.store.encryption import generate_key
from openbroker_aliyun.testing.client import OSBClient, PollingPolicy

pytestmark = [pytest.mark.slow, pytest.mark.services]

USERNAME, PASSWORD = "kill9", "kill9-broker-password"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _command() -> list[str]:
    script = Path(sys.executable).with_name("redis-broker")
    return [str(script)] if script.exists() else [sys.executable, "-m", "aliyun_brokers.redis.cli"]


def _config(tmp_path: Path, emulator_url: str) -> Path:
    settings = {
        "credentials": [{"username": USERNAME, "password": PASSWORD}],
        "state_url": f"sqlite:///{tmp_path / 'state.db'}",
        "encryption_keys": [generate_key()],
        "host": "127.0.0.1",
        "workers": 1,
        "threads": 4,
        "log_level": "INFO",
        "access_key_id": KEY_ID,
        "access_key_secret": KEY_SECRET,
        "region_id": "cn-hangzhou",
        "aliyun_endpoint": emulator_url,
        "broker_id": "kill9",
        "vpc_id": "vpc-test",
        "vswitch_id": "vsw-test",
        "zone_id": "cn-hangzhou-h",
        "security_ips": ["127.0.0.1"],
        "refresh_seconds": 0.2,
        "lease_seconds": 2.0,
        "graceful_timeout": 1.0,
    }
    path = tmp_path / "broker.yml"
    path.write_text(yaml.safe_dump(settings))
    return path


@contextmanager
def _broker(config: Path, logs: list[str]) -> Iterator[tuple[subprocess.Popen[bytes], OSBClient]]:
    """A broker process in its own process group (so SIGKILL takes gunicorn and its workers)."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    process = subprocess.Popen(
        [*_command(), "--config", str(config), "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    polling = PollingPolicy(interval=0.1, interval_cap=0.3, max_duration=60)
    client = OSBClient(url, USERNAME, PASSWORD, polling=polling)
    try:
        for _ in range(300):  # bounded: ~30 s for gunicorn to come up
            assert process.poll() is None, "the broker exited at start-up"
            try:
                if requests.get(f"{url}/health/live", timeout=1, proxies={"http": ""}).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        yield process, client
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
        logs.append(output.decode(errors="replace"))
        client.session.close()


def _kill9(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


@pytest.fixture
def slow_emulator(redis_server: str) -> Iterator[Emulator]:
    # Slow enough that the kills land in the middle of the create and the delete.
    with emulator(
        backed=True, redis_server_binary=redis_server, create_seconds=1.5, delete_seconds=1.0
    ) as running:
        yield running


def test_a_killed_broker_is_finished_by_the_next_one(slow_emulator: Emulator, tmp_path: Path) -> None:
    config, logs = _config(tmp_path, slow_emulator.url), []
    instance_id, binding_id = str(uuid.uuid4()), str(uuid.uuid4())
    small = plan_id("standard-256mb")

    with _broker(config, logs) as (first, client):
        assert client.provision(instance_id, REDIS.id, small).status == 202
        assert slow_emulator.wait_created(instance_id)["InstanceStatus"] == "Creating"
        _kill9(first)

    with _broker(config, logs) as (second, client):
        assert wait_final(client, instance_id)["state"] == "succeeded"
        credentials = client.bind_and_wait(instance_id, binding_id, REDIS.id, small).credentials
        assert credentials is not None
        app = redis.Redis.from_url(credentials["uri"], socket_timeout=5)
        app.set("survived", "kill -9")
        assert app.get("survived") == b"kill -9"
        app.close()
        client.unbind_and_wait(instance_id, binding_id, REDIS.id, small)
        assert client.deprovision(instance_id, REDIS.id, small).status == 202
        for _ in range(200):  # until the delete call has happened
            if slow_emulator.count("DeleteInstance"):
                break
            time.sleep(0.02)
        _kill9(second)

    with _broker(config, logs) as (_, client):
        assert wait_final(client, instance_id)["state"] in ("succeeded", "gone")
    assert slow_emulator.count("CreateInstance") == 1
    assert slow_emulator.instances() == []
    assert slow_emulator.redis_children() == {}
    output = "\n".join(logs)
    assert "Traceback" not in output
    for secret in (KEY_SECRET, credentials["password"], PASSWORD):
        assert secret not in output
