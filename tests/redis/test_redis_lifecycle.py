"""The Redis broker end to end: real HTTP, the platform-like client, the emulator backed by
real redis-server processes, the real V1 SDK transport, redis-py as the app.

provision → bind read-write and read-only → the read-write ``uri`` works with
``redis.Redis.from_url`` (SET/GET), the read-only one reads and is refused on write →
rotate → unbind → the unbound credentials are refused → update → deprovision → no
instance in the emulator and no redis-server process left.
"""

from __future__ import annotations

import logging
import os
import uuid
from typing import Any, Iterator

import pytest
import redis
from broker_harness import assert_refused_before_anything
from redis_harness import KEY_SECRET, REDIS, Emulator, RunningRedis, emulator, plan_id, redis_broker

pytestmark = pytest.mark.services

CREDENTIAL_KEYS = {"uri", "host", "hostname", "port", "username", "password", "database", "type", "provider"}


@pytest.fixture
def running(backed_emulator: Emulator) -> Iterator[RunningRedis]:
    with redis_broker(emulator_url=backed_emulator.url) as broker:
        yield broker


def _client(credentials: dict[str, Any]) -> redis.Redis:
    """What an app does: the binding's ``uri`` and nothing else."""
    return redis.Redis.from_url(credentials["uri"], socket_timeout=5, socket_connect_timeout=5)


def _refused(credentials: dict[str, Any]) -> bool:
    client = _client(credentials)
    try:
        client.ping()
    except redis.AuthenticationError:
        return True
    finally:
        client.close()
    return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_full_lifecycle(
    running: RunningRedis, backed_emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client, service = running.client, REDIS
    instance_id = str(uuid.uuid4())
    small, large = plan_id("standard-256mb"), plan_id("standard-1gb")

    provisioned = client.provision_and_wait(
        instance_id, service.id, small, parameters={"security_ips": ["10.1.0.0/16"]}
    )
    assert provisioned.response.status == 202
    [cloud] = backed_emulator.instances_of(instance_id)
    assert cloud["InstanceStatus"] == "Normal"
    assert cloud["InstanceName"] == f"osb-{instance_id}"
    assert cloud["Tags"]["openbroker-broker"] == running.settings.broker_id
    assert cloud["EngineVersion"] == "7.0" and cloud["InstanceClass"] == "redis.master.micro.default"
    assert backed_emulator.count("CreateInstance") == 1
    fetched = client.fetch_instance(instance_id)
    assert fetched.status == 200
    assert fetched.json["metadata"]["attributes"]["alibaba_cloud_instance_id"] == cloud["InstanceId"]
    assert fetched.json["parameters"]["security_ips"] == ["10.1.0.0/16"]
    pid = backed_emulator.app.redis_processes().pid(cloud["InstanceId"])  # type: ignore[union-attr]
    assert pid is not None and _pid_alive(pid)

    writer_id, reader_id = str(uuid.uuid4()), str(uuid.uuid4())
    writer = client.bind_and_wait(instance_id, writer_id, service.id, small).credentials
    reader = client.bind_and_wait(
        instance_id, reader_id, service.id, small, parameters={"read_only": True}
    ).credentials
    assert writer is not None and reader is not None
    for credentials in (writer, reader):
        assert set(credentials) >= CREDENTIAL_KEYS
        assert credentials["uri"].startswith("redis://") and credentials["type"] == "redis"
        assert credentials["provider"] == "alibabacloud" and credentials["database"] == "0"
        assert "tls_port" not in credentials and "ssl" not in credentials
    assert writer["username"] != reader["username"] and writer["password"] != reader["password"]
    accounts = {
        a["AccountName"]: a["AccountPrivilege"]
        for a in backed_emulator.instances_of(instance_id)[0]["Accounts"]
    }
    assert accounts == {writer["username"]: "RoleReadWrite", reader["username"]: "RoleReadOnly"}

    app = _client(writer)
    app.set("greeting", "hello from the writer")
    assert app.get("greeting") == b"hello from the writer"
    app.close()
    read_only = _client(reader)
    assert read_only.get("greeting") == b"hello from the writer"
    with pytest.raises(redis.exceptions.NoPermissionError):
        read_only.set("greeting", "overwritten")
    read_only.close()

    # Rotation: a fresh account; the old one works until it is unbound.
    rotated_id = str(uuid.uuid4())
    rotated = client.bind_and_wait(
        instance_id, rotated_id, service.id, small, predecessor_binding_id=writer_id
    ).credentials
    assert rotated is not None and rotated["username"] not in (writer["username"], reader["username"])
    assert _client(rotated).get("greeting") == b"hello from the writer"

    client.unbind_and_wait(instance_id, writer_id, service.id, small)
    assert _refused(writer)
    assert not _refused(reader) and not _refused(rotated)

    client.update_and_wait(
        instance_id, service.id, plan_id=large, previous_plan_id=small, parameters={"security_ips": []}
    )
    [cloud] = backed_emulator.instances_of(instance_id)
    assert cloud["InstanceClass"] == "redis.master.small.default" and cloud["InstanceStatus"] == "Normal"
    assert _client(reader).get("greeting") == b"hello from the writer"

    client.unbind_and_wait(instance_id, reader_id, service.id, large)
    client.unbind_and_wait(instance_id, rotated_id, service.id, large)
    assert _refused(reader) and _refused(rotated)
    client.deprovision_and_wait(instance_id, service.id, large)
    assert backed_emulator.instances() == []
    assert backed_emulator.redis_children() == {}
    assert not _pid_alive(pid)

    logged = caplog.text
    for secret in (writer["password"], reader["password"], rotated["password"], KEY_SECRET):
        assert secret not in logged


def test_bad_parameters_are_refused_before_anything_happens(
    running: RunningRedis, backed_emulator: Emulator
) -> None:
    cases = [
        ({"engine_version": "2.8"}, "engine_version"),
        ({"security_ips": ["0.0.0.0/0"]}, "security_ips"),
        ({"security_ips": ["not-an-ip"]}, "security_ips"),
        ({"tls": "maybe"}, "tls"),
        ({"zone_id": "cn-hangzhou-z"}, "zone_id"),
        ({"colour": "blue"}, "colour"),
    ]
    assert_refused_before_anything(
        running.client, backed_emulator, REDIS.id, plan_id("standard-256mb"), cases
    )


def test_update_and_bind_refusals(running: RunningRedis, backed_emulator: Emulator) -> None:
    client = running.client
    instance_id = str(uuid.uuid4())
    small = plan_id("standard-256mb")
    client.provision_and_wait(instance_id, REDIS.id, small, parameters={"engine_version": "6.0"})
    backed_emulator.reset_calls()
    refusals = [
        ({"plan_id": plan_id("cluster-4gb")}, 422, "architecture"),
        ({"parameters": {"engine_version": "7.0"}}, 422, "version"),
        ({"parameters": {"security_ips": ["0.0.0.0/0"]}}, 400, "security_ips"),
    ]
    for change, status, word in refusals:
        response = client.update(instance_id, REDIS.id, **change)
        assert response.status == status, (change, response.summary())
        assert word in (response.description or "")
    bad_bind = client.bind(
        instance_id, str(uuid.uuid4()), REDIS.id, small, parameters={"read_only": "no way"}
    )
    assert bad_bind.status == 400 and "read_only" in (bad_bind.description or "")
    assert backed_emulator.count() == 0
    client.deprovision_and_wait(instance_id, REDIS.id, small)
    assert backed_emulator.instances() == []


def test_tls_instances_hand_out_tls_credentials(tmp_path: Any) -> None:
    """Metadata only: the emulator's redis-server speaks no TLS, so only the credentials are checked."""
    with emulator() as cloud, redis_broker(emulator_url=cloud.url) as running:
        instance_id = str(uuid.uuid4())
        small = plan_id("standard-256mb")
        running.client.provision_and_wait(instance_id, REDIS.id, small, parameters={"tls": True})
        assert cloud.count("ModifyInstanceSSL") == 1
        credentials = running.client.bind_and_wait(
            instance_id, str(uuid.uuid4()), REDIS.id, small
        ).credentials
        assert credentials is not None
        assert credentials["uri"].startswith("rediss://")
        assert credentials["ssl"] == "true" and credentials["tls_port"] == credentials["port"]
        running.client.update_and_wait(instance_id, REDIS.id, parameters={"tls": False})
        assert cloud.count("ModifyInstanceSSL") == 2
        plain = running.client.bind_and_wait(instance_id, str(uuid.uuid4()), REDIS.id, small).credentials
        assert plain is not None and plain["uri"].startswith("redis://") and "tls_port" not in plain
        running.client.deprovision_and_wait(instance_id, REDIS.id, small)
        assert cloud.instances() == []
