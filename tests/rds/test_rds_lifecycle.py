"""The RDS broker end to end: real HTTP, the platform-like client, the emulator backed by
the real MariaDB and PostgreSQL, the real V1 SDK transport.

provision → poll → bind twice → connect with each binding's ``uri`` → a table made through
one binding is used through the other → unbind the first, keep using the table through
the second → the unbound credentials no longer log in → update the plan → deprovision →
nothing left in the emulator or on the servers.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Iterator

import psycopg
import pymysql
import pytest
from aliyun_brokers.rds.cloud import RDS_ACTIONS
from backing_services import MYSQL_HOST, MYSQL_PORT, PG_ADMIN_URL
from broker_harness import assert_refused_before_anything
from rds_harness import (
    KEY_SECRET,
    MYSQL,
    POSTGRES,
    Emulator,
    RunningRds,
    execute,
    plan_id,
    rds_broker,
)

pytestmark = pytest.mark.services

CREDENTIAL_KEYS = {
    "uri",
    "host",
    "hostname",
    "port",
    "username",
    "password",
    "database",
    "name",
    "type",
    "provider",
}


@pytest.fixture
def rds(backed_emulator: Emulator) -> Iterator[RunningRds]:
    with rds_broker(emulator_url=backed_emulator.url) as running:
        yield running


def _server_leftovers(kind: str, names: list[str]) -> list[str]:
    """Which of ``names`` (databases and roles/users) still exist on the real server."""
    found: list[str] = []
    if kind == "mysql":
        conn = pymysql.connect(host=MYSQL_HOST, port=MYSQL_PORT, user="root", password="", autocommit=True)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT schema_name FROM information_schema.schemata")
                found += [row[0] for row in cur.fetchall()]
                cur.execute("SELECT user FROM mysql.user")
                found += [row[0] for row in cur.fetchall()]
        finally:
            conn.close()
    else:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            found += [row[0] for row in conn.execute("SELECT datname FROM pg_database").fetchall()]
            found += [row[0] for row in conn.execute("SELECT rolname FROM pg_roles").fetchall()]
    return sorted(set(names) & set(found))


def _cannot_log_in(credentials: dict[str, Any]) -> bool:
    try:
        execute(credentials, "SELECT 1")
    except (pymysql.err.OperationalError, psycopg.OperationalError):
        return True
    return False


@pytest.mark.parametrize("service", [MYSQL, POSTGRES], ids=["mysql", "postgresql"])
def test_full_lifecycle(
    service: Any, rds: RunningRds, backed_emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = rds.client
    instance_id = str(uuid.uuid4())
    small, medium = plan_id(service, "basic-small"), plan_id(service, "basic-medium")
    kind = "mysql" if service is MYSQL else "postgresql"

    provisioned = client.provision_and_wait(instance_id, service.id, small)
    assert provisioned.response.status == 202
    [cloud] = backed_emulator.instances_of(instance_id)
    assert cloud["DBInstanceStatus"] == "Running"
    assert cloud["DBInstanceDescription"] == f"osb-{instance_id}"
    assert cloud["Tags"]["openbroker-broker"] == rds.settings.broker_id
    fetched = client.fetch_instance(instance_id)
    assert fetched.status == 200
    assert fetched.json["metadata"]["attributes"]["alibaba_cloud_instance_id"] == cloud["DBInstanceId"]

    first_id, second_id = str(uuid.uuid4()), str(uuid.uuid4())
    bound = client.bind_and_wait(instance_id, first_id, service.id, small)
    first = bound.credentials
    assert first is not None
    endpoint = {"host": first["host"], "ports": [str(first["port"])], "protocol": "tcp"}
    assert bound.body["endpoints"] == [endpoint]
    second = client.bind_and_wait(instance_id, second_id, service.id, small).credentials
    assert first is not None and second is not None
    for credentials in (first, second):
        assert set(credentials) >= CREDENTIAL_KEYS
        assert credentials["uri"].startswith(f"{kind}://")
        assert credentials["type"] == kind and credentials["provider"] == "alibabacloud"
        assert "jdbcUrl" not in credentials and "sslmode" not in credentials
    assert first["username"] != second["username"] and first["password"] != second["password"]
    assert first["database"] == second["database"]

    execute(first, "CREATE TABLE orders (id INT PRIMARY KEY, item VARCHAR(40))")
    execute(first, "INSERT INTO orders VALUES (1, 'made by the first binding')")
    execute(second, "INSERT INTO orders VALUES (2, 'made by the second binding')")
    assert execute(second, "SELECT count(*) FROM orders") == [(2,)]

    client.unbind_and_wait(instance_id, first_id, service.id, small)
    assert _cannot_log_in(first)
    execute(second, "INSERT INTO orders VALUES (3, 'after the first was unbound')")
    execute(second, "ALTER TABLE orders ADD COLUMN qty INT")
    assert execute(second, "SELECT id FROM orders ORDER BY id") == [(1,), (2,), (3,)]

    client.update_and_wait(instance_id, service.id, plan_id=medium, previous_plan_id=small)
    [cloud] = backed_emulator.instances_of(instance_id)
    assert cloud["DBInstanceClass"] == "mysql.n2.medium.1" if kind == "mysql" else "pg.n2.medium.1"
    assert execute(second, "SELECT count(*) FROM orders") == [(3,)]

    client.unbind_and_wait(instance_id, second_id, service.id, medium)
    client.deprovision_and_wait(instance_id, service.id, medium)
    assert backed_emulator.instances_of(instance_id) == []
    names = [first["database"], first["username"], second["username"], f"{first['database']}_owner"]
    assert _server_leftovers("mysql" if kind == "mysql" else "postgres", names) == []
    called = set(backed_emulator.calls())
    assert called <= set(RDS_ACTIONS)  # docs/ram-policy.json lists exactly these
    assert any(record.name.startswith("openbroker_aliyun") for record in caplog.records)
    logged = caplog.text + "".join(str(record.__dict__) for record in caplog.records)
    # Every password the broker generated (the bindings', PostgreSQL's manager) and the key.
    assert {first["password"], second["password"]} <= set(rds.port.passwords)
    for secret in (*rds.port.passwords, KEY_SECRET):
        assert secret not in logged


def test_bad_parameters_are_refused_before_anything_happens(
    rds: RunningRds, backed_emulator: Emulator
) -> None:
    cases = [
        ({"storage_gb": 7}, "storage_gb"),
        ({"engine_version": "5.1"}, "engine_version"),
        ({"database_name": "Bad Name"}, "database_name"),
        ({"security_ips": ["0.0.0.0/0"]}, "security_ips"),
        ({"zone_id": "cn-hangzhou-z"}, "zone_id"),
        ({"colour": "blue"}, "colour"),
    ]
    assert_refused_before_anything(
        rds.client, backed_emulator, MYSQL.id, plan_id(MYSQL, "basic-small"), cases
    )
