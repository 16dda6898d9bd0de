"""The Redis broker when things go wrong: throttling and 503s, lost responses, lost records,
a DELETE while the instance is still being created. Exactly one instance, nothing left."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
import redis
from aliyun_brokers.common.naming import tag_parameter
from aliyun_brokers.redis.broker import RedisBroker
from aliyun_brokers.redis.catalog import SHIPPED_CATALOG
from broker_harness import provision_operation, wait_final
from redis_harness import (
    KEY_SECRET,
    REDIS,
    Emulator,
    emulator,
    fast_transport,
    plan_id,
    redis_broker,
    redis_settings,
)

from openbroker_aliyun.broker import InProgress
from openbroker_aliyun.catalog.params import validate_parameters


def _use(credentials: dict[str, Any] | None, key: str) -> bytes | None:
    assert credentials is not None
    client = redis.Redis.from_url(credentials["uri"], socket_timeout=5)
    try:
        client.set(key, "value")
        return client.get(key)  # type: ignore[return-value]
    finally:
        client.close()


@pytest.mark.services
def test_lifecycle_under_throttling_and_503s(backed_emulator: Emulator) -> None:
    backed_emulator.set_faults(
        ["r-kvstore/*=Throttling:0.2", "r-kvstore/*=ServiceUnavailable:0.05"], seed=20261127
    )
    with redis_broker(emulator_url=backed_emulator.url) as running:
        client = running.client
        instance_id = str(uuid.uuid4())
        small, large = plan_id("standard-256mb"), plan_id("standard-1gb")
        client.provision_and_wait(instance_id, REDIS.id, small)
        assert len(backed_emulator.instances_of(instance_id)) == 1
        first_id, second_id = str(uuid.uuid4()), str(uuid.uuid4())
        first = client.bind_and_wait(instance_id, first_id, REDIS.id, small).credentials
        second = client.bind_and_wait(instance_id, second_id, REDIS.id, small).credentials
        assert _use(first, "a") == b"value" and _use(second, "b") == b"value"
        client.unbind_and_wait(instance_id, first_id, REDIS.id, small)
        client.update_and_wait(instance_id, REDIS.id, plan_id=large, previous_plan_id=small)
        assert _use(second, "c") == b"value"
        client.unbind_and_wait(instance_id, second_id, REDIS.id, large)
        client.deprovision_and_wait(instance_id, REDIS.id, large)
    assert backed_emulator.faulted() > 0  # the faults really happened
    assert backed_emulator.count("CreateInstance", "ok") >= 1
    assert backed_emulator.instances() == []
    assert backed_emulator.redis_children() == {}


@pytest.mark.services
def test_a_lost_create_response_makes_one_instance(backed_emulator: Emulator) -> None:
    backed_emulator.set_faults(["CreateInstance=lost_response:once"])
    with redis_broker(emulator_url=backed_emulator.url) as running:
        instance_id = str(uuid.uuid4())
        small = plan_id("standard-256mb")
        running.client.provision_and_wait(instance_id, REDIS.id, small)
        assert len(backed_emulator.instances()) == 1
        credentials = running.client.bind_and_wait(
            instance_id, str(uuid.uuid4()), REDIS.id, small
        ).credentials
        assert _use(credentials, "k") == b"value"
        running.client.deprovision_and_wait(instance_id, REDIS.id, small)
    assert backed_emulator.count("CreateInstance", "lost_response") == 1
    assert backed_emulator.instances() == []
    assert backed_emulator.redis_children() == {}


@pytest.mark.services
def test_an_instance_whose_record_was_lost_is_found_by_its_tags(backed_emulator: Emulator) -> None:
    """The broker's state is gone; the platform provisions the same instance id again."""
    with redis_broker(emulator_url=backed_emulator.url) as running:
        instance_id = str(uuid.uuid4())
        small = plan_id("standard-256mb")
        # An instance a previous life of this broker created for the OSB instance (its
        # Token and password are unknown now: only the tags can find it).
        earlier = fast_transport(running.settings).call(
            "r-kvstore",
            "CreateInstance",
            {
                "RegionId": "cn-hangzhou",
                "InstanceClass": "redis.master.micro.default",
                "EngineVersion": "7.0",
                "NetworkType": "VPC",
                "VpcId": "vpc-test",
                "VSwitchId": "vsw-test",
                "Password": "An-earlier-life-1",
                "Token": "an-earlier-life",
                "Tag": tag_parameter(running.settings.broker_id, instance_id),
            },
        )["InstanceId"]
        backed_emulator.reset_calls()
        running.client.provision_and_wait(instance_id, REDIS.id, small)
        assert backed_emulator.count("CreateInstance") == 0
        assert backed_emulator.count("ResetAccountPassword") == 1  # the adopted instance's password
        assert [i["InstanceId"] for i in backed_emulator.instances_of(instance_id)] == [earlier]
        credentials = running.client.bind_and_wait(
            instance_id, str(uuid.uuid4()), REDIS.id, small
        ).credentials
        assert _use(credentials, "k") == b"value"
        running.client.deprovision_and_wait(instance_id, REDIS.id, small)
    assert backed_emulator.instances() == []


def test_a_crash_between_create_and_saving_its_id_makes_no_second_instance(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Steps driven directly: the run after the create sees details without the id (its save was lost)."""
    caplog.set_level(logging.DEBUG)
    with emulator() as cloud:
        settings = redis_settings(cloud.url, tmp_path)
        broker = RedisBroker(settings, fast_transport(settings))
        plan = REDIS.plans[0]
        parameters = validate_parameters(broker.catalog.services[0].plans[0], "provision", {})
        instance_id = str(uuid.uuid4())
        first = provision_operation(instance_id, REDIS.id, plan.id, parameters, {})
        assert isinstance(broker.provision(first), InProgress)  # prepare: the password is saved first
        saved = dict(first.instance.details)
        assert saved["step"] == "create" and "instance_id" not in saved
        assert cloud.count() == 0
        assert isinstance(broker.provision(first), InProgress)
        created = first.instance.details["instance_id"]
        # The crash lost what the create step wrote.
        lost = provision_operation(instance_id, REDIS.id, plan.id, parameters, dict(saved))
        assert isinstance(broker.provision(lost), InProgress)
        assert lost.instance.details["instance_id"] == created
        assert len(cloud.instances_of(instance_id)) == 1
        assert cloud.count("CreateInstance") == 1
        assert saved["password"] not in caplog.text


@pytest.mark.services
def test_delete_while_creating_waits_and_deletes(redis_server: str) -> None:
    with (
        emulator(backed=True, create_seconds=1.0) as slow_cloud,
        redis_broker(emulator_url=slow_cloud.url) as running,
    ):
        instance_id = str(uuid.uuid4())
        small = plan_id("standard-256mb")
        accepted = running.client.provision(instance_id, REDIS.id, small)
        assert accepted.status == 202
        assert slow_cloud.wait_created(instance_id)["InstanceStatus"] == "Creating"
        running.client.deprovision_and_wait(instance_id, REDIS.id, small)
        assert slow_cloud.instances() == []
        assert slow_cloud.redis_children() == {}
        assert slow_cloud.count("CreateInstance") == 1
        assert running.client.last_operation(instance_id).status in (200, 410)


def _provision_until_it_fails(cloud: Emulator, settings: Any) -> str:
    """Provision with ``settings``; the final description, after checking nothing was made."""
    with redis_broker(settings) as running:
        instance_id = str(uuid.uuid4())
        assert running.client.provision(instance_id, REDIS.id, plan_id("standard-256mb")).status == 202
        poll = wait_final(running.client, instance_id)
    assert cloud.instances() == []
    assert poll["state"] == "failed"
    return str(poll["description"])


def test_wrong_credentials_fail_the_operation_with_an_actionable_description(tmp_path: Any) -> None:
    with emulator() as cloud:
        settings = redis_settings(cloud.url, tmp_path, access_key_secret="not-the-right-secret-x1")
        description = _provision_until_it_fails(cloud, settings)
    assert "credentials" in description and "operator" in description
    assert "not-the-right-secret-x1" not in description and KEY_SECRET not in description


def test_an_unavailable_instance_class_fails_with_a_description(tmp_path: Any) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(SHIPPED_CATALOG.read_text().replace("redis.master.micro.default", "No-Such-Class"))
    with emulator() as cloud:
        settings = redis_settings(cloud.url, tmp_path, catalog_file=str(catalog))
        description = _provision_until_it_fails(cloud, settings)
    assert "Creating the Redis instance failed" in description and "InvalidParameter" in description
