"""``rds-broker`` as a real process: refusing bad settings, ``--demo``, and kill -9 in the
middle of provisioning and of deprovisioning (exactly one instance, nothing left, no
secret in the logs)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
from broker_harness import demo
from rds_harness import KEY_ID, KEY_SECRET, MYSQL, Emulator, emulator, execute, plan_id

from openbroker_aliyun.store.encryption import generate_key
from openbroker_aliyun.testing.client import OSBClient, PollingPolicy

RDS_BROKER = str(Path(sys.executable).with_name("rds-broker"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _clean_env() -> dict[str, str]:
    drop = ("PROXY", "BROKER_", "ALIBABA_CLOUD_", "RDS_", "PORT")
    return {key: value for key, value in os.environ.items() if not any(part in key.upper() for part in drop)}


def test_help_lists_the_flags() -> None:
    result = subprocess.run([RDS_BROKER, "--help"], capture_output=True, text=True, timeout=60, check=True)
    for flag in ("--config", "--port", "--state-url", "--aliyun-endpoint", "--demo", "--demo-mysql-url"):
        assert flag in result.stdout


def test_refuses_to_start_without_required_settings() -> None:
    env = {
        **_clean_env(),
        "BROKER_USERNAME": "u",
        "BROKER_PASSWORD": "p",
        "ALIBABA_CLOUD_ACCESS_KEY_ID": "id",
    }
    env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] = KEY_SECRET
    result = subprocess.run([RDS_BROKER], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 78
    assert "ALIBABA_CLOUD_REGION_ID" in result.stderr
    assert KEY_SECRET not in result.stderr + result.stdout


def test_refuses_a_public_whitelist(tmp_path: Path) -> None:
    config = tmp_path / "broker.yml"
    config.write_text(
        "credentials: [{username: u, password: p}]\nregion_id: cn-hangzhou\naccess_key_id: id\n"
        "vpc_id: vpc-1\nvswitch_id: vsw-1\nzone_id: cn-hangzhou-h\nsecurity_ips: [0.0.0.0/0]\n"
    )
    env = {**_clean_env(), "ALIBABA_CLOUD_ACCESS_KEY_SECRET": KEY_SECRET}
    result = subprocess.run(
        [RDS_BROKER, "--config", str(config)], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 78
    assert "BROKER_ALLOW_PUBLIC_ACCESS" in result.stderr


def test_demo_serves_and_prints_how_to_use_it() -> None:
    with demo([RDS_BROKER, "--demo", "--port", "0"], _clean_env()) as running:
        url, password = running.url, running.password
        assert url.startswith("http://127.0.0.1:") and running.username == "demo"
        assert f"cf create-service-broker aliyun-rds demo '{password}' {url}" in running.banner
        assert (
            "curl -u 'demo:" in running.banner
            and "cf enable-service-access aliyun-rds-mysql" in running.banner
        )
        client = OSBClient(
            url, "demo", password, polling=PollingPolicy(interval=0.2, interval_cap=1, max_duration=60)
        )
        assert client.catalog().status == 200
        instance_id = str(uuid.uuid4())
        small = plan_id(MYSQL, "basic-small")
        client.provision_and_wait(instance_id, MYSQL.id, small)
        credentials = client.bind_and_wait(instance_id, str(uuid.uuid4()), MYSQL.id, small).credentials
        assert credentials is not None and credentials["uri"].startswith("mysql://")
        client.deprovision_and_wait(instance_id, MYSQL.id, small)
    assert running.returncode == 0


# -- kill -9 ------------------------------------------------------------------------------


class BrokerProcess:
    """One ``rds-broker`` process (gunicorn master + worker) in its own process group."""

    def __init__(self, env: dict[str, str], log_dir: Path, name: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log_dir / f"{name}.log"
        self._log_file = self.log.open("w")
        self.process = subprocess.Popen(
            [RDS_BROKER, "--port", str(self.port), "--host", "127.0.0.1"],
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for _ in range(900):  # a loaded CI machine may take a while to import everything
            try:
                if requests.get(f"{self.url}/health/live", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            assert self.process.poll() is None, self.log.read_text()[-2000:]
            time.sleep(0.1)
        raise AssertionError("rds-broker did not start")

    def kill9(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self._log_file.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        self._log_file.close()


@pytest.fixture
def slow_cloud(mysql_admin_url: str) -> Iterator[Emulator]:
    # Long enough to kill the broker while the instance is still Creating / Deleting.
    with emulator(mysql_url=mysql_admin_url, create_seconds=2.0, delete_seconds=2.0) as running:
        yield running


def _wait(predicate: Any, what: str) -> None:
    for _ in range(600):
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
@pytest.mark.services
def test_kill_9_mid_provision_and_mid_deprovision(slow_cloud: Emulator, tmp_path: Path) -> None:
    username, password = "platform", "broker-" + uuid.uuid4().hex
    env = {
        **_clean_env(),
        "BROKER_USERNAME": username,
        "BROKER_PASSWORD": password,
        "BROKER_STATE_URL": f"sqlite:///{tmp_path / 'state.db'}",
        "BROKER_ENCRYPTION_KEYS": generate_key(),
        "BROKER_WORKERS": "1",
        "BROKER_LOG_LEVEL": "DEBUG",
        "ALIBABA_CLOUD_ACCESS_KEY_ID": KEY_ID,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": KEY_SECRET,
        "ALIBABA_CLOUD_REGION_ID": "cn-hangzhou",
        "ALIBABA_CLOUD_ENDPOINT": slow_cloud.url,
        "BROKER_ID": "killtest",
        "BROKER_VPC_ID": "vpc-k",
        "BROKER_VSWITCH_ID": "vsw-k",
        "BROKER_ZONE_ID": "cn-hangzhou-h",
        "BROKER_SECURITY_IPS": "127.0.0.1",
        "BROKER_REFRESH_SECONDS": "0.2",
        "BROKER_LEASE_SECONDS": "1",
    }
    instance_id, small = str(uuid.uuid4()), plan_id(MYSQL, "basic-small")
    polling = PollingPolicy(interval=0.1, interval_cap=0.5, max_duration=90)
    processes: list[BrokerProcess] = []
    try:
        first = BrokerProcess(env, tmp_path, "first")
        processes.append(first)
        accepted = OSBClient(first.url, username, password).provision(instance_id, MYSQL.id, small)
        assert accepted.status == 202
        _wait(lambda: slow_cloud.instances_of(instance_id), "the create call")
        first.kill9()  # mid-provision: the instance is Creating

        second = BrokerProcess(env, tmp_path, "second")
        processes.append(second)
        client = OSBClient(second.url, username, password, polling=polling)
        _wait(lambda: client.last_operation(instance_id).json.get("state") == "succeeded", "provisioning")
        assert len(slow_cloud.instances_of(instance_id)) == 1
        assert len(slow_cloud.instances()) == 1
        binding_id = str(uuid.uuid4())
        credentials = client.bind_and_wait(instance_id, binding_id, MYSQL.id, small).credentials
        assert credentials is not None and execute(credentials, "SELECT 1") == [(1,)]
        client.unbind_and_wait(instance_id, binding_id, MYSQL.id, small)
        assert client.deprovision(instance_id, MYSQL.id, small).status == 202
        _wait(
            lambda: all(i["DBInstanceStatus"] == "Deleting" for i in slow_cloud.instances_of(instance_id)),
            "the delete call",
        )
        second.kill9()  # mid-deprovision: the instance is Deleting

        third = BrokerProcess(env, tmp_path, "third")
        processes.append(third)
        client = OSBClient(third.url, username, password, polling=polling)
        _wait(
            lambda: (
                client.last_operation(instance_id).status == 410
                or client.last_operation(instance_id).json.get("state") == "succeeded"
            ),
            "deprovisioning",
        )
        assert slow_cloud.instances() == []
    finally:
        for process in processes:
            process.stop()
    logs = "\n".join(process.log.read_text() for process in processes)
    assert "operation driver started" in logs  # the logs were captured
    for secret in (KEY_SECRET, credentials["password"], password):
        assert secret not in logs
    assert slow_cloud.calls()["CreateDBInstance"]["outcomes"] == {"ok": 1}
