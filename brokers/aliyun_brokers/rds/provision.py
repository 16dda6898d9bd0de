"""Provisioning an RDS instance, as resumable stages recorded in ``details["step"]``.

    create       find the instance by its tags, or CreateDBInstance (ClientToken, tags,
                 description, VPC/VSwitch/zone, security IPs); record its id
    wait         until DescribeDBInstances says Running and unlocked (batched, cached)
    endpoint     the private connection string and port
    manager      PostgreSQL: the broker's privileged account (Create, or Reset if it exists)
    database     CreateDatabase (owned by the manager on PostgreSQL)
    ownership    PostgreSQL: the shared owner role, over SQL (sql_engines.py)
    tls          ModifyDBInstanceSSL when the user asked for TLS
    tls_wait     until DescribeDBInstanceSSL says it is on

Each stage does one thing and records its result, and several stages run in one call
while nothing needs waiting for; a crash anywhere re-runs at most the stage in flight,
and every stage is safe to repeat. A retried create never makes a second instance: the
tag search finds the first, and the ClientToken makes Alibaba return it.
"""

from __future__ import annotations

from typing import Any

from aliyun_brokers.common.naming import client_token, instance_description, tag_parameter
from aliyun_brokers.common.stages import run_stages
from aliyun_brokers.rds.cloud import RUNNING
from aliyun_brokers.rds.engines import default_database_name, owner_role_name, profile_for
from aliyun_brokers.rds.runtime import RdsRuntime
from openbroker_aliyun.broker import InstanceStepResult
from openbroker_aliyun.credentials import generate_password
from openbroker_aliyun.domain import InstanceOperation
from openbroker_aliyun.errors import OperationFailed

__all__ = ["provision"]

# How long a new instance may be missing from DescribeDBInstances (Alibaba's lists lag).
_APPEAR_GRACE_SECONDS = 600

_DOING = {
    "create": "Creating the RDS instance",
    "wait": "Waiting for the RDS instance",
    "endpoint": "Reading the RDS instance's endpoint",
    "manager": "Creating the broker's privileged account",
    "database": "Creating the database",
    "ownership": "Setting up shared ownership in the database",
    "tls": "Turning on TLS",
    "tls_wait": "Waiting for TLS",
}


def provision(rt: RdsRuntime, op: InstanceOperation) -> InstanceStepResult:
    """One provision step: run stages until one has to wait, or the instance is ready."""
    details = op.instance.details
    return run_stages(rt, op, details, _STAGES, _DOING, lambda: rt.ready(details), first="create")


def _create(rt: RdsRuntime, op: InstanceOperation, details: dict[str, Any]) -> str | InstanceStepResult:
    params = op.parameters
    plan = rt.plan(op.plan_id)
    settings = rt.settings
    database = params.get("database_name") or default_database_name(settings.broker_id, op.instance.id)
    zone_id, vswitch_id = settings.vswitch_for(params.get("zone_id"))
    security_ips = settings.whitelist(params.get("security_ips", []))
    details.update(
        engine=plan.engine,
        engine_version=params.get("engine_version", plan.default_version),
        instance_class=plan.instance_class,
        category=plan.category,
        storage_type=plan.storage_type,
        storage_gb=params.get("storage_gb", plan.storage_gb),
        database=database,
        zone_id=zone_id,
        security_ips=security_ips,
        tls=False,
    )
    if plan.engine == "PostgreSQL":
        details["owner_role"] = owner_role_name(database)
    if not details.get("db_instance_id"):
        found = rt.kind.tagged_ids(settings.broker_id, op.instance.id, live_only=True)
        if found:
            details["db_instance_id"] = found[0]
            details["adopted"] = True
        else:
            answer = rt.api.create_instance(
                {
                    "Engine": plan.engine,
                    "EngineVersion": details["engine_version"],
                    "DBInstanceClass": plan.instance_class,
                    "DBInstanceStorage": details["storage_gb"],
                    "DBInstanceStorageType": plan.storage_type,
                    "Category": plan.category,
                    "PayType": "Postpaid",
                    "DBInstanceNetType": "Intranet",
                    "InstanceNetworkType": "VPC",
                    "VPCId": settings.vpc_id,
                    "VSwitchId": vswitch_id,
                    "ZoneId": zone_id,
                    "SecurityIPList": ",".join(security_ips),
                    "DBInstanceDescription": instance_description(op.instance.id),
                    # Per operation: a provision that failed and is tried again (a new
                    # operation) must not get back an instance deleted in between.
                    "ClientToken": client_token(settings.broker_id, op.instance.id, f"create:{op.id}"),
                    "Tag": tag_parameter(settings.broker_id, op.instance.id),
                }
            )
            details["db_instance_id"] = answer["DBInstanceId"]
            if answer.get("ConnectionString") and answer.get("Port"):
                details["host"], details["port"] = str(answer["ConnectionString"]), int(answer["Port"])
        details["created_at"] = rt.now()
    rt.cache.watch(details["db_instance_id"])
    details["step"] = "wait"
    return rt.wait(f"Creating the RDS instance {details['db_instance_id']}.")


def _wait(rt: RdsRuntime, op: InstanceOperation, details: dict[str, Any]) -> str | InstanceStepResult:
    instance_id = details["db_instance_id"]
    described = rt.describe(instance_id)
    if described.item is None:
        if rt.now() - float(details.get("created_at", 0)) < _APPEAR_GRACE_SECONDS:
            return rt.wait(f"Waiting for the RDS instance {instance_id} to appear.")
        raise OperationFailed(
            f"The RDS instance {instance_id} no longer exists; it was deleted outside the broker."
        )
    status = described.item.get("DBInstanceStatus", "")
    lock = described.item.get("LockMode") or "Unlock"
    if status in rt.kind.leaving_states:
        raise OperationFailed(
            f"The RDS instance {instance_id} is being deleted outside the broker ({status})."
        )
    if status != RUNNING:
        return rt.wait(f"The RDS instance {instance_id} is {status}.")
    if lock != "Unlock":
        # Locked for arrears, expiry or a full disk: an operator must act; keep waiting so
        # the operation ends by the plan's maximum polling duration with this description.
        return rt.wait(f"The RDS instance {instance_id} is locked ({lock}); an operator must unlock it.")
    if not details.get("host") and described.item.get("ConnectionString") and described.item.get("Port"):
        details["host"], details["port"] = (
            str(described.item["ConnectionString"]),
            int(described.item["Port"]),
        )
    return "endpoint"


def _endpoint(rt: RdsRuntime, op: InstanceOperation, details: dict[str, Any]) -> str | InstanceStepResult:
    if not details.get("host"):
        found = rt.api.endpoint(details["db_instance_id"])
        if found is None:
            return rt.wait(f"The RDS instance {details['db_instance_id']} has no endpoint yet.")
        details["host"], details["port"] = found
    return "manager" if rt.uses_manager(details) else "database"


def _manager(rt: RdsRuntime, op: InstanceOperation, details: dict[str, Any]) -> str | InstanceStepResult:
    profile = profile_for(details["engine"])
    details["manager_account"] = profile.manager_account(rt.settings.broker_id, op.instance.id)
    details.setdefault("manager_password", generate_password())
    rt.api.ensure_account(
        details["db_instance_id"], details["manager_account"], details["manager_password"], privileged=True
    )
    return "database"


def _database(rt: RdsRuntime, op: InstanceOperation, details: dict[str, Any]) -> str | InstanceStepResult:
    profile = profile_for(details["engine"])
    rt.api.ensure_database(details["db_instance_id"], details["database"], profile.character_set)
    return "ownership" if rt.uses_manager(details) else "tls"


def _ownership(rt: RdsRuntime, op: InstanceOperation, details: dict[str, Any]) -> str | InstanceStepResult:
    profile = profile_for(details["engine"])
    # SqlError propagates: transient (the database may still be being created).
    profile.sql.prepare_database(rt.manager_login(details), details["owner_role"])
    return "tls"


def _tls(rt: RdsRuntime, op: InstanceOperation, details: dict[str, Any]) -> str | InstanceStepResult:
    if not op.parameters.get("tls"):
        return "done"
    rt.api.modify_ssl(details["db_instance_id"], details["host"], True)
    details["step"] = "tls_wait"
    return rt.wait(f"Turning on TLS on the RDS instance {details['db_instance_id']}.")


def _tls_wait(rt: RdsRuntime, op: InstanceOperation, details: dict[str, Any]) -> str | InstanceStepResult:
    if not rt.api.ssl_enabled(details["db_instance_id"]):
        return rt.wait(f"Waiting for TLS on the RDS instance {details['db_instance_id']}.")
    details["tls"] = True
    return "done"


_STAGES = {
    "create": _create,
    "wait": _wait,
    "endpoint": _endpoint,
    "manager": _manager,
    "database": _database,
    "ownership": _ownership,
    "tls": _tls,
    "tls_wait": _tls_wait,
}
