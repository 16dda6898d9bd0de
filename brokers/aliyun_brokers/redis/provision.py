"""Provisioning a Redis instance, as resumable stages recorded in ``RedisProgress.step``.

    prepare   record what the instance will be, and generate its password: saved by the
              framework before any call, so a repeated create sends the same parameters
    create    find the instance by its tags, or CreateInstance (``Token`` from the OSB
              instance and operation ids, tags and name, VPC/VSwitch/zone); record its id
    wait      until the batched describe says ``Normal`` (``Creating`` → ``Normal``)
    password  only for an adopted instance (found by its tags, its password unknown):
              ResetAccountPassword of the default account
    ips       ModifySecurityIps (mode Cover): the operator's list plus the user's. Until
              then the instance allows only 127.0.0.1 (Alibaba's default), never the world
    tls       ModifyInstanceSSL when the user asked for TLS
    tls_wait  until ``Normal`` again and DescribeInstanceSSL says it is on

The instance's own password never reaches a binding: bindings get accounts (binding.py).
"""

from __future__ import annotations

from aliyun_brokers.common.credentials import generate_password
from aliyun_brokers.common.naming import client_token, instance_description, resource_tag_list
from aliyun_brokers.common.progress import known
from aliyun_brokers.common.stages import StageTable
from aliyun_brokers.redis.cloud import GONE_STATES, NORMAL
from aliyun_brokers.redis.progress import RedisProgress
from aliyun_brokers.redis.runtime import RedisRuntime
from aliyun_brokers.redis.wire import CreateInstance, DescribeInstanceSSL, ModifyInstanceSSL
from openbroker_aliyun.broker import InProgress, InstanceStepResult
from openbroker_aliyun.domain import InstanceOperation
from openbroker_aliyun.errors import OperationFailed

__all__ = ["PROVISION", "start", "wait_normal"]

# How long a new instance may be missing from DescribeInstances (Alibaba's lists lag).
_APPEAR_GRACE_SECONDS = 600


def start(op: InstanceOperation, p: RedisProgress) -> None:
    """Before the stages: a new attempt after a failed provision starts over, keeping what
    the failed one made (its instance, if that still exists, and the password it was
    created with)."""
    if p.provision_op != op.id:
        p.provision_op = op.id
        p.step = "prepare"


def wait_normal(rt: RedisRuntime, instance_id: str, doing: str) -> InProgress | None:
    """None when the instance is ``Normal``; else what to wait for (or a failed operation)."""
    item = rt.describe(instance_id).item
    if item is None:
        raise OperationFailed(
            f"The Redis instance {instance_id} no longer exists; it was deleted outside the broker."
        )
    status = item.status
    if status in GONE_STATES:
        raise OperationFailed(
            f"The Redis instance {instance_id} is being deleted outside the broker ({status})."
        )
    if status == NORMAL:
        return None
    if status == "Inactive":
        # Stopped for arrears or expiry: an operator must act; keep waiting so the operation
        # ends by the plan's maximum polling duration with this description.
        return rt.wait(
            f"The Redis instance {instance_id} is inactive (arrears or expiry); an operator must act."
        )
    return rt.wait(f"{doing}: the Redis instance {instance_id} is {status}.")


def _prepare(rt: RedisRuntime, op: InstanceOperation, p: RedisProgress) -> str | InstanceStepResult:
    params, settings, plan = op.parameters, rt.settings, rt.plan(op.plan_id)
    zone_id, vswitch_id = settings.vswitch_for(params.get("zone_id"))
    p.engine_version = params.get("engine_version", plan.default_version)
    p.instance_class = plan.instance_class
    p.zone_id = zone_id
    p.vswitch_id = vswitch_id
    p.security_ips = settings.whitelist(params.get("security_ips", []))
    p.tls = False
    if p.password is None:
        p.password = generate_password()
    p.step = "create"
    return InProgress(description="Creating the Redis instance.", retry_after=0)


def _create(rt: RedisRuntime, op: InstanceOperation, p: RedisProgress) -> str | InstanceStepResult:
    settings, plan = rt.settings, rt.plan(op.plan_id)
    if p.instance_id:
        # Made by an earlier, failed attempt: reuse it unless it is gone since.
        item = rt.describe(p.instance_id).item
        if item is None or item.status in GONE_STATES:
            p.unset("instance_id", "host", "port", "adopted")
    if not p.instance_id:
        found = rt.kind.tagged_ids(settings.broker_id, op.instance.id, live_only=True)
        if found:
            p.instance_id = found[0]
            p.adopted = True
        else:
            answer = rt.api.create_instance(
                CreateInstance(
                    # Sized by class, else by capacity.
                    instance_class=plan.instance_class,
                    capacity=None if plan.instance_class else plan.capacity_mb,
                    shard_count=plan.shard_count,
                    instance_type="Redis",
                    engine_version=known(p.engine_version, "engine_version"),
                    node_type=plan.node_type,
                    charge_type="PostPaid",
                    network_type="VPC",
                    vpc_id=settings.vpc_id,
                    vswitch_id=known(p.vswitch_id, "vswitch_id"),
                    zone_id=known(p.zone_id, "zone_id"),
                    password=known(p.password, "password"),
                    instance_name=instance_description(op.instance.id),
                    # Per operation: a provision that failed and is tried again (a new
                    # operation) must not get back an instance deleted in between.
                    token=client_token(settings.broker_id, op.instance.id, f"create:{op.id}"),
                    tag=resource_tag_list(settings.broker_id, op.instance.id),
                )
            )
            p.instance_id = answer.instance_id
            _record_endpoint(p, answer.connection_domain, answer.port)
        p.created_at = rt.now()
    p.step = "wait"
    return rt.wait(f"Creating the Redis instance {p.cloud_id}.")


def _record_endpoint(p: RedisProgress, host: str | None, port: int | None) -> None:
    if host and port:
        p.host, p.port = host, int(port)


def _wait(rt: RedisRuntime, op: InstanceOperation, p: RedisProgress) -> str | InstanceStepResult:
    instance_id = p.cloud_id
    item = rt.describe(instance_id).item
    if item is None and rt.now() - float(p.created_at or 0) < _APPEAR_GRACE_SECONDS:
        return rt.wait(f"Waiting for the Redis instance {instance_id} to appear.")
    waiting = wait_normal(rt, instance_id, "Creating")
    if waiting is not None:
        return waiting
    if item is not None:
        # What the instance really is (an adopted one may differ from this request).
        if item.instance_class:
            p.instance_class = item.instance_class
        if item.engine_version:
            p.engine_version = item.engine_version
        if not p.host:
            _record_endpoint(p, item.connection_domain, item.port)
    if not p.host:
        return rt.wait(f"The Redis instance {instance_id} has no endpoint yet.")
    return "password" if p.adopted else "ips"


def _password(rt: RedisRuntime, op: InstanceOperation, p: RedisProgress) -> str | InstanceStepResult:
    # The default account is named after the instance.
    rt.api.reset_password(p.cloud_id, p.cloud_id, known(p.password, "password"))
    return "ips"


def _ips(rt: RedisRuntime, op: InstanceOperation, p: RedisProgress) -> str | InstanceStepResult:
    rt.api.modify_security_ips(p.cloud_id, known(p.security_ips, "security_ips"))
    return "tls" if op.parameters.get("tls") else "done"


def _tls(rt: RedisRuntime, op: InstanceOperation, p: RedisProgress) -> str | InstanceStepResult:
    rt.api.modify_ssl(ModifyInstanceSSL(instance_id=p.cloud_id, ssl_enabled="Enable"))
    rt.cache.invalidate(p.cloud_id)
    p.step = "tls_wait"
    return rt.wait(f"Turning on TLS on the Redis instance {p.cloud_id}.")


def _tls_wait(rt: RedisRuntime, op: InstanceOperation, p: RedisProgress) -> str | InstanceStepResult:
    waiting = wait_normal(rt, p.cloud_id, "Turning on TLS")
    if waiting is not None:
        return waiting
    if not rt.api.describe_ssl(DescribeInstanceSSL(instance_id=p.cloud_id)).enabled:
        return rt.wait(f"Waiting for TLS on the Redis instance {p.cloud_id}.")
    p.tls = True
    return "done"


#: The provision's stages, in ``RedisProgress.step``.
PROVISION: StageTable[RedisRuntime, InstanceOperation, RedisProgress, InstanceStepResult] = StageTable(
    first="prepare",
    stages={
        "prepare": (_prepare, "Preparing the Redis instance"),
        "create": (_create, "Creating the Redis instance"),
        "wait": (_wait, "Waiting for the Redis instance"),
        "password": (_password, "Setting the Redis instance's password"),
        "ips": (_ips, "Setting the Redis instance's whitelist"),
        "tls": (_tls, "Turning on TLS"),
        "tls_wait": (_tls_wait, "Waiting for TLS"),
    },
)
