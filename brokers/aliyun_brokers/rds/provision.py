"""Provisioning an RDS instance, as resumable stages recorded in ``RdsProgress.step``.

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

from aliyun_brokers.common.credentials import generate_password
from aliyun_brokers.common.naming import client_token, instance_description, resource_tag_list
from aliyun_brokers.common.progress import known
from aliyun_brokers.common.stages import StageTable
from aliyun_brokers.rds.cloud import RUNNING
from aliyun_brokers.rds.engines import default_database_name, owner_role_name
from aliyun_brokers.rds.progress import RdsProgress
from aliyun_brokers.rds.runtime import RdsRuntime
from aliyun_brokers.rds.wire import (
    CreateDatabase,
    CreateDBInstance,
    DescribeDBInstanceNetInfo,
    DescribeDBInstanceSSL,
    ModifyDBInstanceSSL,
)
from openbroker_aliyun.broker import InstanceStepResult
from openbroker_aliyun.domain import InstanceOperation
from openbroker_aliyun.errors import OperationFailed

__all__ = ["PROVISION"]

# How long a new instance may be missing from DescribeDBInstances (Alibaba's lists lag).
_APPEAR_GRACE_SECONDS = 600


def _create(rt: RdsRuntime, op: InstanceOperation, p: RdsProgress) -> str | InstanceStepResult:
    params = op.parameters
    plan = rt.plan(op.plan_id)
    settings = rt.settings
    database = params.get("database_name") or default_database_name(settings.broker_id, op.instance.id)
    zone_id, vswitch_id = settings.vswitch_for(params.get("zone_id"))
    security_ips = settings.whitelist(params.get("security_ips", []))
    p.engine = plan.engine
    p.engine_version = params.get("engine_version", plan.default_version)
    p.instance_class = plan.instance_class
    p.category = plan.category
    p.storage_type = plan.storage_type
    p.storage_gb = params.get("storage_gb", plan.storage_gb)
    p.database = database
    p.zone_id = zone_id
    p.security_ips = security_ips
    p.tls = False
    if plan.engine == "PostgreSQL":
        p.owner_role = owner_role_name(database)
    if not p.db_instance_id:
        found = rt.kind.tagged_ids(settings.broker_id, op.instance.id, live_only=True)
        if found:
            p.db_instance_id = found[0]
            p.adopted = True
        else:
            answer = rt.api.create_instance(
                CreateDBInstance(
                    engine=plan.engine,
                    engine_version=known(p.engine_version, "engine_version"),
                    db_instance_class=plan.instance_class,
                    db_instance_storage=known(p.storage_gb, "storage_gb"),
                    db_instance_storage_type=plan.storage_type,
                    category=plan.category,
                    pay_type="Postpaid",
                    db_instance_net_type="Intranet",
                    instance_network_type="VPC",
                    vpc_id=settings.vpc_id,
                    vswitch_id=vswitch_id,
                    zone_id=zone_id,
                    security_ip_list=",".join(security_ips),
                    db_instance_description=instance_description(op.instance.id),
                    # Per operation: a provision that failed and is tried again (a new
                    # operation) must not get back an instance deleted in between.
                    client_token=client_token(settings.broker_id, op.instance.id, f"create:{op.id}"),
                    tag=resource_tag_list(settings.broker_id, op.instance.id),
                )
            )
            p.db_instance_id = answer.instance_id
            if answer.connection_string and answer.port:
                p.host, p.port = answer.connection_string, int(answer.port)
        p.created_at = rt.now()
    rt.cache.watch(p.cloud_id)
    p.step = "wait"
    return rt.wait(f"Creating the RDS instance {p.cloud_id}.")


def _wait(rt: RdsRuntime, op: InstanceOperation, p: RdsProgress) -> str | InstanceStepResult:
    instance_id = p.cloud_id
    item = rt.describe(instance_id).item
    if item is None:
        if rt.now() - float(p.created_at or 0) < _APPEAR_GRACE_SECONDS:
            return rt.wait(f"Waiting for the RDS instance {instance_id} to appear.")
        raise OperationFailed(
            f"The RDS instance {instance_id} no longer exists; it was deleted outside the broker."
        )
    status, lock = item.status, item.lock_mode or "Unlock"
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
    return "endpoint"


def _endpoint(rt: RdsRuntime, op: InstanceOperation, p: RdsProgress) -> str | InstanceStepResult:
    if not p.host:
        found = rt.api.describe_net_info(DescribeDBInstanceNetInfo(instance_id=p.cloud_id)).private_endpoint()
        if found is None:
            return rt.wait(f"The RDS instance {p.cloud_id} has no endpoint yet.")
        p.host, p.port = found
    return "manager" if rt.uses_manager(p) else "database"


def _manager(rt: RdsRuntime, op: InstanceOperation, p: RdsProgress) -> str | InstanceStepResult:
    p.manager_account = rt.profile(p).manager_account(rt.settings.broker_id, op.instance.id)
    if p.manager_password is None:
        p.manager_password = generate_password()
    rt.api.ensure_account(p.cloud_id, p.manager_account, p.manager_password, privileged=True)
    return "database"


def _database(rt: RdsRuntime, op: InstanceOperation, p: RdsProgress) -> str | InstanceStepResult:
    rt.api.ensure_database(
        CreateDatabase(
            instance_id=p.cloud_id,
            db_name=known(p.database, "database"),
            character_set_name=rt.profile(p).character_set,
            db_description="openbroker database",
        )
    )
    return "ownership" if rt.uses_manager(p) else "tls"


def _ownership(rt: RdsRuntime, op: InstanceOperation, p: RdsProgress) -> str | InstanceStepResult:
    # SqlError propagates: transient (the database may still be being created).
    rt.profile(p).sql.prepare_database(rt.manager_login(p), known(p.owner_role, "owner_role"))
    return "tls"


def _tls(rt: RdsRuntime, op: InstanceOperation, p: RdsProgress) -> str | InstanceStepResult:
    if not op.parameters.get("tls"):
        return "done"
    rt.api.modify_ssl(
        ModifyDBInstanceSSL(instance_id=p.cloud_id, connection_string=known(p.host, "host"), ssl_enabled=1)
    )
    p.step = "tls_wait"
    return rt.wait(f"Turning on TLS on the RDS instance {p.cloud_id}.")


def _tls_wait(rt: RdsRuntime, op: InstanceOperation, p: RdsProgress) -> str | InstanceStepResult:
    if not rt.api.describe_ssl(DescribeDBInstanceSSL(instance_id=p.cloud_id)).enabled:
        return rt.wait(f"Waiting for TLS on the RDS instance {p.cloud_id}.")
    p.tls = True
    return "done"


#: The provision's stages, in ``RdsProgress.step``.
PROVISION: StageTable[RdsRuntime, InstanceOperation, RdsProgress, InstanceStepResult] = StageTable(
    first="create",
    stages={
        "create": (_create, "Creating the RDS instance"),
        "wait": (_wait, "Waiting for the RDS instance"),
        "endpoint": (_endpoint, "Reading the RDS instance's endpoint"),
        "manager": (_manager, "Creating the broker's privileged account"),
        "database": (_database, "Creating the database"),
        "ownership": (_ownership, "Setting up shared ownership in the database"),
        "tls": (_tls, "Turning on TLS"),
        "tls_wait": (_tls_wait, "Waiting for TLS"),
    },
)
