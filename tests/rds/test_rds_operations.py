"""Update, TLS, rotation, unbind and polling economy, through real HTTP and the emulator."""

from __future__ import annotations

import time
import uuid
from typing import Any, Iterator

import pytest
from rds_harness import (
    MYSQL,
    POSTGRES,
    Emulator,
    RunningRds,
    emulator,
    execute,
    fast_transport,
    plan_id,
    rds_broker,
    rds_settings,
)


@pytest.fixture
def cloud() -> Iterator[Emulator]:
    """Metadata only: no SQL server behind the instances."""
    with emulator() as running:
        yield running


@pytest.fixture
def rds(cloud: Emulator, tmp_path: Any) -> Iterator[RunningRds]:
    # Without a real server the PostgreSQL owner-role SQL cannot run: turned off here.
    settings = rds_settings(cloud.url, tmp_path, postgres_shared_ownership=False)
    with rds_broker(settings) as running:
        yield running


def _describe(rds: RunningRds, action: str, instance_id: str) -> dict[str, Any]:
    db_id = _db_id(rds, instance_id)
    return fast_transport(rds.settings).call(
        "rds", action, {"RegionId": "cn-hangzhou", "DBInstanceId": db_id}
    )


def _db_id(rds: RunningRds, instance_id: str) -> str:
    fetched = rds.client.fetch_instance(instance_id)
    return str(fetched.json["metadata"]["attributes"]["alibaba_cloud_instance_id"])


def test_update_storage_ips_and_tls(rds: RunningRds) -> None:
    client = rds.client
    instance_id, small = str(uuid.uuid4()), plan_id(MYSQL, "basic-small")
    client.provision_and_wait(instance_id, MYSQL.id, small, parameters={"security_ips": ["10.1.0.0/16"]})
    ips = _describe(rds, "DescribeDBInstanceIPArrayList", instance_id)
    default = next(g for g in ips["Items"]["DBInstanceIPArray"] if g["DBInstanceIPArrayName"] == "Default")
    assert set(default["SecurityIPList"].split(",")) == {"127.0.0.1", "10.1.0.0/16"}

    client.update_and_wait(
        instance_id, MYSQL.id, parameters={"storage_gb": 40, "security_ips": ["10.2.0.0/16"]}
    )
    attribute = _describe(rds, "DescribeDBInstanceAttribute", instance_id)["Items"]["DBInstanceAttribute"][0]
    assert attribute["DBInstanceStorage"] == 40
    ips = _describe(rds, "DescribeDBInstanceIPArrayList", instance_id)
    default = next(g for g in ips["Items"]["DBInstanceIPArray"] if g["DBInstanceIPArrayName"] == "Default")
    assert set(default["SecurityIPList"].split(",")) == {"127.0.0.1", "10.2.0.0/16"}

    client.update_and_wait(instance_id, MYSQL.id, parameters={"tls": True})
    assert _describe(rds, "DescribeDBInstanceSSL", instance_id)["SSLEnabled"] in ("Yes", "on")
    client.update_and_wait(instance_id, MYSQL.id, parameters={"tls": False})
    assert _describe(rds, "DescribeDBInstanceSSL", instance_id)["SSLEnabled"] in ("No", "off")

    # A plan change to a plan with more storage grows it to the plan's size; never shrinks.
    client.update_and_wait(
        instance_id, MYSQL.id, plan_id=plan_id(MYSQL, "basic-medium"), previous_plan_id=small
    )
    attribute = _describe(rds, "DescribeDBInstanceAttribute", instance_id)["Items"]["DBInstanceAttribute"][0]
    assert (attribute["DBInstanceClass"], attribute["DBInstanceStorage"]) == ("mysql.n2.medium.1", 50)
    client.update_and_wait(
        instance_id, MYSQL.id, plan_id=small, previous_plan_id=plan_id(MYSQL, "basic-medium")
    )
    attribute = _describe(rds, "DescribeDBInstanceAttribute", instance_id)["Items"]["DBInstanceAttribute"][0]
    assert (attribute["DBInstanceClass"], attribute["DBInstanceStorage"]) == ("mysql.n2.small.1", 50)
    client.deprovision_and_wait(instance_id, MYSQL.id, small)


def test_refused_updates_change_nothing(rds: RunningRds, cloud: Emulator) -> None:
    client = rds.client
    instance_id, small = str(uuid.uuid4()), plan_id(POSTGRES, "basic-small")
    client.provision_and_wait(instance_id, POSTGRES.id, small, parameters={"storage_gb": 30})
    cloud.reset_calls()
    version = client.update(instance_id, POSTGRES.id, parameters={"engine_version": "14.0"})
    assert version.status == 422
    assert "engine version" in (version.description or "") and "16.0" in (version.description or "")
    shrink = client.update(instance_id, POSTGRES.id, parameters={"storage_gb": 20})
    assert shrink.status == 422 and "only grow" in (shrink.description or "")
    other_engine = client.update(instance_id, POSTGRES.id, plan_id=plan_id(MYSQL, "basic-small"))
    assert other_engine.status == 400
    public = client.update(instance_id, POSTGRES.id, parameters={"security_ips": ["0.0.0.0/0"]})
    assert public.status == 400
    unknown = client.update(instance_id, POSTGRES.id, parameters={"database_name": "other"})
    assert unknown.status == 400
    same = client.update(instance_id, POSTGRES.id, parameters={"engine_version": "16.0"})
    assert same.status in (200, 202)
    if same.status == 202:
        client.last_operation(instance_id)
    for action in ("ModifyDBInstanceSpec", "ModifySecurityIps", "ModifyDBInstanceSSL"):
        assert cloud.count(action) == 0


def test_tls_credentials_jdbc_rotation_and_unbind(cloud: Emulator, tmp_path: Any) -> None:
    settings = rds_settings(cloud.url, tmp_path, postgres_shared_ownership=False, jdbc_url=True)
    with rds_broker(settings) as rds:
        client = rds.client
        instance_id, small = str(uuid.uuid4()), plan_id(POSTGRES, "basic-small")
        client.provision_and_wait(
            instance_id, POSTGRES.id, small, parameters={"tls": True, "database_name": "orders"}
        )
        assert _describe(rds, "DescribeDBInstanceSSL", instance_id)["SSLEnabled"] in ("on", "Yes")
        first_id = str(uuid.uuid4())
        first = client.bind_and_wait(instance_id, first_id, POSTGRES.id, small).credentials
        assert first is not None
        assert first["sslmode"] == "require" and first["uri"].endswith("/orders?sslmode=require")
        assert first["jdbcUrl"].startswith("jdbc:postgresql://") and first["database"] == "orders"
        assert first["username"][:2] != "pg"

        rotated_id = str(uuid.uuid4())
        rotated = client.bind_and_wait(
            instance_id, rotated_id, POSTGRES.id, small, predecessor_binding_id=first_id
        ).credentials
        assert rotated is not None and rotated["username"] != first["username"]
        accounts = {a["AccountName"] for a in cloud.instances_of(instance_id)[0]["Accounts"]}
        assert {first["username"], rotated["username"]} <= accounts  # both valid in parallel

        # An account deleted outside the broker: unbind still succeeds.
        transport = fast_transport(settings)
        transport.call(
            "rds",
            "DeleteAccount",
            {
                "RegionId": "cn-hangzhou",
                "DBInstanceId": _db_id(rds, instance_id),
                "AccountName": first["username"],
            },
        )
        client.unbind_and_wait(instance_id, first_id, POSTGRES.id, small)
        assert client.unbind(instance_id, first_id, POSTGRES.id, small).status == 410
        client.unbind_and_wait(instance_id, rotated_id, POSTGRES.id, small)
        assert {a["AccountName"] for a in cloud.instances_of(instance_id)[0]["Accounts"]} <= {
            a for a in accounts if a.startswith("mgr")
        }
        client.deprovision_and_wait(instance_id, POSTGRES.id, small)


def test_polling_costs_no_alibaba_calls(tmp_path: Any) -> None:
    """Polls are answered from the broker's store; describes are batched and cached."""
    with emulator(create_seconds=1.5) as cloud:
        settings = rds_settings(cloud.url, tmp_path, refresh_seconds=0.5, postgres_shared_ownership=False)
        with rds_broker(settings) as rds:
            small = plan_id(MYSQL, "basic-small")
            ids = [str(uuid.uuid4()) for _ in range(20)]
            for instance_id in ids:
                assert rds.client.provision(instance_id, MYSQL.id, small).status == 202
            polls, pending, started = 0, set(ids), time.monotonic()
            for _ in range(2000):
                for instance_id in list(pending):
                    polls += 1
                    if rds.client.last_operation(instance_id).json["state"] == "succeeded":
                        pending.discard(instance_id)
                if not pending:
                    break
                time.sleep(0.02)
            elapsed = time.monotonic() - started
            assert not pending
            # One tag lookup per instance before its create, then status reads: at most one
            # batch per refresh interval (plus the first read of newly created instances),
            # however often the platform polled.
            status_reads = cloud.count("DescribeDBInstances") - len(ids)
            assert status_reads <= len(ids) + elapsed / settings.refresh_seconds + 2
            assert status_reads < polls
            assert cloud.count("DescribeDBInstanceAttribute") == 0
            cloud.reset_calls()
            for instance_id in ids:
                for _ in range(5):
                    assert rds.client.last_operation(instance_id).json["state"] == "succeeded"
            assert cloud.count() == 0


def test_a_mysql_binding_uses_a_real_server(mysql_admin_url: str, tmp_path: Any) -> None:
    """MySQL with TLS requested: the credentials stay connectable (MySQL URIs carry no TLS flag)."""
    with emulator(mysql_url=mysql_admin_url) as backed:
        with rds_broker(rds_settings(backed.url, tmp_path)) as rds:
            instance_id, small = str(uuid.uuid4()), plan_id(MYSQL, "basic-small")
            rds.client.provision_and_wait(instance_id, MYSQL.id, small, parameters={"engine_version": "5.7"})
            binding = rds.client.bind_and_wait(instance_id, str(uuid.uuid4()), MYSQL.id, small).credentials
            assert binding is not None and execute(binding, "SELECT 1") == [(1,)]
            assert binding["port"] == 3306 and isinstance(binding["port"], int)
            rds.client.deprovision_and_wait(instance_id, MYSQL.id, small)
        assert backed.instances() == []
