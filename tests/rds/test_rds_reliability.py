"""The RDS broker when things go wrong: throttling and 503s, lost responses, lost records,
a DELETE while the instance is still being created. Exactly one instance, nothing left."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from aliyun_brokers.common.naming import tag_parameter
from aliyun_brokers.rds.broker import RdsBroker
from broker_harness import provision_operation, wait_final
from rds_harness import (
    KEY_ID,
    KEY_SECRET,
    MYSQL,
    POSTGRES,
    Emulator,
    emulator,
    execute,
    fast_transport,
    plan_id,
    rds_broker,
    rds_settings,
)

from openbroker_aliyun.broker import InProgress
from openbroker_aliyun.catalog.params import validate_parameters

pytestmark = pytest.mark.services


@pytest.mark.parametrize("service", [MYSQL, POSTGRES], ids=["mysql", "postgresql"])
def test_lifecycle_under_throttling_and_503s(service: Any, backed_emulator: Emulator) -> None:
    backed_emulator.set_faults(["Throttling:0.2", "ServiceUnavailable:0.05"], seed=20261127)
    with rds_broker(emulator_url=backed_emulator.url) as rds:
        client = rds.client
        instance_id = str(uuid.uuid4())
        small, medium = plan_id(service, "basic-small"), plan_id(service, "basic-medium")
        client.provision_and_wait(instance_id, service.id, small)
        assert len(backed_emulator.instances_of(instance_id)) == 1
        first_id, second_id = str(uuid.uuid4()), str(uuid.uuid4())
        first = client.bind_and_wait(instance_id, first_id, service.id, small).credentials
        second = client.bind_and_wait(instance_id, second_id, service.id, small).credentials
        assert first is not None and second is not None
        execute(first, "CREATE TABLE t (id INT PRIMARY KEY)")
        execute(second, "INSERT INTO t VALUES (1)")
        client.unbind_and_wait(instance_id, first_id, service.id, small)
        execute(second, "INSERT INTO t VALUES (2)")
        client.update_and_wait(instance_id, service.id, plan_id=medium, previous_plan_id=small)
        client.unbind_and_wait(instance_id, second_id, service.id, medium)
        client.deprovision_and_wait(instance_id, service.id, medium)
    assert backed_emulator.faulted() > 0  # the faults really happened
    assert backed_emulator.count("CreateDBInstance", "ok") >= 1
    assert backed_emulator.instances() == []


def test_a_lost_create_response_makes_one_instance(backed_emulator: Emulator) -> None:
    backed_emulator.set_faults(["CreateDBInstance=lost_response:once"])
    with rds_broker(emulator_url=backed_emulator.url) as rds:
        instance_id = str(uuid.uuid4())
        small = plan_id(MYSQL, "basic-small")
        rds.client.provision_and_wait(instance_id, MYSQL.id, small)
        assert len(backed_emulator.instances_of(instance_id)) == 1
        assert len(backed_emulator.instances()) == 1
        rds.client.deprovision_and_wait(instance_id, MYSQL.id, small)
    assert backed_emulator.count("CreateDBInstance", "lost_response") == 1
    assert backed_emulator.instances() == []


def test_an_instance_whose_record_was_lost_is_found_by_its_tags(backed_emulator: Emulator) -> None:
    """The broker's state is gone; the platform provisions the same instance id again."""
    with rds_broker(emulator_url=backed_emulator.url) as rds:
        instance_id = str(uuid.uuid4())
        small = plan_id(MYSQL, "basic-small")
        # An instance a previous life of this broker created for the OSB instance (its
        # ClientToken is unknown now: only the tags can find it).
        transport = fast_transport(rds.settings)
        earlier = transport.call(
            "rds",
            "CreateDBInstance",
            {
                "RegionId": "cn-hangzhou",
                "Engine": "MySQL",
                "EngineVersion": "8.0",
                "DBInstanceClass": "mysql.n2.small.1",
                "DBInstanceStorage": 20,
                "DBInstanceNetType": "Intranet",
                "PayType": "Postpaid",
                "SecurityIPList": "127.0.0.1",
                "InstanceNetworkType": "VPC",
                "VPCId": "vpc-test",
                "VSwitchId": "vsw-test",
                "ClientToken": "an-earlier-life",
                "Tag": tag_parameter(rds.settings.broker_id, instance_id),
            },
        )["DBInstanceId"]
        backed_emulator.reset_calls()
        rds.client.provision_and_wait(instance_id, MYSQL.id, small)
        assert backed_emulator.count("CreateDBInstance") == 0
        assert [i["DBInstanceId"] for i in backed_emulator.instances_of(instance_id)] == [earlier]
        binding = rds.client.bind_and_wait(instance_id, str(uuid.uuid4()), MYSQL.id, small).credentials
        assert binding is not None and execute(binding, "SELECT 1") == [(1,)]
        rds.client.deprovision_and_wait(instance_id, MYSQL.id, small)
    assert backed_emulator.instances() == []


def test_a_crash_between_create_and_saving_its_id_makes_no_second_instance(tmp_path: Any) -> None:
    """Steps driven directly: the second run sees details without the id (the save was lost)."""
    with emulator() as cloud:
        settings = rds_settings(cloud.url, tmp_path)
        broker = RdsBroker(settings, fast_transport(settings))
        small = plan_id(POSTGRES, "basic-small")
        parameters = validate_parameters(broker.catalog.services[1].plan(small), "provision", {})  # type: ignore[arg-type]
        instance_id = str(uuid.uuid4())
        first = provision_operation(instance_id, POSTGRES.id, small, parameters, {})
        assert isinstance(broker.provision(first), InProgress)
        created = first.instance.details["db_instance_id"]
        # The crash lost the details written by the first run.
        lost = provision_operation(instance_id, POSTGRES.id, small, parameters, {})
        assert isinstance(broker.provision(lost), InProgress)
        assert lost.instance.details["db_instance_id"] == created
        assert len(cloud.instances_of(instance_id)) == 1
        assert cloud.count("CreateDBInstance") == 1


def test_delete_while_creating_waits_and_deletes() -> None:
    with emulator(create_seconds=2.0) as slow_cloud, rds_broker(emulator_url=slow_cloud.url) as rds:
        instance_id = str(uuid.uuid4())
        small = plan_id(MYSQL, "basic-small")
        accepted = rds.client.provision(instance_id, MYSQL.id, small)
        assert accepted.status == 202
        assert slow_cloud.wait_created(instance_id, timeout=30)["DBInstanceStatus"] == "Creating"
        # The provision cannot finish before the instance is Running: the DELETE comes mid-way.
        assert rds.client.last_operation(instance_id).json["state"] == "in progress"
        rds.client.deprovision_and_wait(instance_id, MYSQL.id, small)
        assert slow_cloud.instances() == []
        assert slow_cloud.count("CreateDBInstance") == 1
        last = rds.client.last_operation(instance_id)
        assert last.status in (200, 410)


def test_wrong_credentials_fail_the_operation_with_an_actionable_description(tmp_path: Any) -> None:
    with emulator() as cloud:
        settings = rds_settings(cloud.url, tmp_path, access_key_secret="not-the-right-secret-x1")
        with rds_broker(settings) as rds:
            instance_id = str(uuid.uuid4())
            assert rds.client.provision(instance_id, MYSQL.id, plan_id(MYSQL, "basic-small")).status == 202
            poll = wait_final(rds.client, instance_id)
    assert poll["state"] == "failed"
    assert "credentials" in poll["description"] and "operator" in poll["description"]
    assert "not-the-right-secret-x1" not in poll["description"]
    assert KEY_SECRET not in poll["description"]
    assert KEY_ID  # the key id may be named; never the secret


def test_an_unavailable_instance_class_fails_with_a_description(tmp_path: Any) -> None:
    catalog = tmp_path / "catalog.yaml"
    from aliyun_brokers.rds.catalog import SHIPPED_CATALOG

    catalog.write_text(SHIPPED_CATALOG.read_text().replace("mysql.n2.small.1", "no-such.class.1"))
    with emulator() as cloud:
        settings = rds_settings(cloud.url, tmp_path, catalog_file=str(catalog))
        with rds_broker(settings) as rds:
            instance_id = str(uuid.uuid4())
            rds.client.provision(instance_id, MYSQL.id, plan_id(MYSQL, "basic-small"))
            poll = wait_final(rds.client, instance_id)
        assert cloud.instances() == []
    assert poll["state"] == "failed"
    assert "instance class" in poll["description"] and "InvalidDBInstanceClass" in poll["description"]
