"""Provisioning a Redis instance, as resumable stages recorded in ``details["step"]``.

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

from typing import Any, Mapping

from aliyun_brokers.common.naming import client_token, instance_description, tag_parameter
from aliyun_brokers.common.stages import run_stages
from aliyun_brokers.redis.cloud import GONE_STATES, NORMAL
from aliyun_brokers.redis.runtime import RedisRuntime
from openbroker_aliyun.broker import InProgress, InstanceStepResult
from openbroker_aliyun.credentials import generate_password
from openbroker_aliyun.domain import InstanceOperation
from openbroker_aliyun.errors import OperationFailed

__all__ = ["provision", "wait_normal"]

# How long a new instance may be missing from DescribeInstances (Alibaba's lists lag).
_APPEAR_GRACE_SECONDS = 600

_DOING = {
    "prepare": "Preparing the Redis instance",
    "create": "Creating the Redis instance",
    "wait": "Waiting for the Redis instance",
    "password": "Setting the Redis instance's password",
    "ips": "Setting the Redis instance's whitelist",
    "tls": "Turning on TLS",
    "tls_wait": "Waiting for TLS",
}


def provision(rt: RedisRuntime, op: InstanceOperation) -> InstanceStepResult:
    """One provision step: run stages until one has to wait, or the instance is ready."""
    details = op.instance.details
    if details.get("provision_op") != op.id:
        # A new attempt after a failed provision starts over, keeping what the failed one
        # made (its instance, if that still exists, and the password it was created with).
        details.update(provision_op=op.id, step="prepare")

    return run_stages(rt, op, details, _STAGES, _DOING, lambda: rt.ready(details), first="prepare")


def wait_normal(rt: RedisRuntime, instance_id: str, doing: str) -> InProgress | None:
    """None when the instance is ``Normal``; else what to wait for (or a failed operation)."""
    item = rt.describe(instance_id).item
    if item is None:
        raise OperationFailed(
            f"The Redis instance {instance_id} no longer exists; it was deleted outside the broker."
        )
    status = item.get("InstanceStatus", "")
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


def _prepare(rt: RedisRuntime, op: InstanceOperation, details: dict[str, Any]) -> str | InstanceStepResult:
    params, settings, plan = op.parameters, rt.settings, rt.plan(op.plan_id)
    zone_id, vswitch_id = settings.vswitch_for(params.get("zone_id"))
    details.update(
        engine_version=params.get("engine_version", plan.default_version),
        instance_class=plan.instance_class,
        zone_id=zone_id,
        vswitch_id=vswitch_id,
        security_ips=settings.whitelist(params.get("security_ips", [])),
        tls=False,
    )
    details.setdefault("password", generate_password())
    details["step"] = "create"
    return InProgress(description="Creating the Redis instance.", retry_after=0)


def _create(rt: RedisRuntime, op: InstanceOperation, details: dict[str, Any]) -> str | InstanceStepResult:
    settings, plan = rt.settings, rt.plan(op.plan_id)
    if details.get("instance_id"):
        # Made by an earlier, failed attempt: reuse it unless it is gone since.
        item = rt.describe(details["instance_id"]).item
        if item is None or item.get("InstanceStatus") in GONE_STATES:
            for key in ("instance_id", "host", "port", "adopted"):
                details.pop(key, None)
    if not details.get("instance_id"):
        found = rt.kind.tagged_ids(settings.broker_id, op.instance.id, live_only=True)
        if found:
            details.update(instance_id=found[0], adopted=True)
        else:
            answer = rt.api.create_instance(
                {
                    **_size(plan.instance_class, plan.capacity_mb, plan.shard_count),
                    "InstanceType": "Redis",
                    "EngineVersion": details["engine_version"],
                    "NodeType": plan.node_type,
                    "ChargeType": "PostPaid",
                    "NetworkType": "VPC",
                    "VpcId": settings.vpc_id,
                    "VSwitchId": details["vswitch_id"],
                    "ZoneId": details["zone_id"],
                    "Password": details["password"],
                    "InstanceName": instance_description(op.instance.id),
                    # Per operation: a provision that failed and is tried again (a new
                    # operation) must not get back an instance deleted in between.
                    "Token": client_token(settings.broker_id, op.instance.id, f"create:{op.id}"),
                    "Tag": tag_parameter(settings.broker_id, op.instance.id),
                }
            )
            details["instance_id"] = answer["InstanceId"]
            _record_endpoint(details, answer)
        details["created_at"] = rt.now()
    details["step"] = "wait"
    return rt.wait(f"Creating the Redis instance {details['instance_id']}.")


def _size(instance_class: str | None, capacity_mb: int | None, shard_count: int | None) -> dict[str, Any]:
    size: dict[str, Any] = {"InstanceClass": instance_class} if instance_class else {"Capacity": capacity_mb}
    if shard_count is not None:
        size["ShardCount"] = shard_count
    return size


def _record_endpoint(details: dict[str, Any], item: Mapping[str, Any]) -> None:
    if item.get("ConnectionDomain") and item.get("Port"):
        details["host"], details["port"] = str(item["ConnectionDomain"]), int(item["Port"])


def _wait(rt: RedisRuntime, op: InstanceOperation, details: dict[str, Any]) -> str | InstanceStepResult:
    instance_id = details["instance_id"]
    described = rt.describe(instance_id)
    if described.item is None and rt.now() - float(details.get("created_at", 0)) < _APPEAR_GRACE_SECONDS:
        return rt.wait(f"Waiting for the Redis instance {instance_id} to appear.")
    waiting = wait_normal(rt, instance_id, "Creating")
    if waiting is not None:
        return waiting
    item = described.item or {}
    # What the instance really is (an adopted one may differ from this request).
    for key, field in (("instance_class", "InstanceClass"), ("engine_version", "EngineVersion")):
        if item.get(field):
            details[key] = str(item[field])
    if not details.get("host"):
        _record_endpoint(details, item)
    if not details.get("host"):
        return rt.wait(f"The Redis instance {instance_id} has no endpoint yet.")
    return "password" if details.get("adopted") else "ips"


def _password(rt: RedisRuntime, op: InstanceOperation, details: dict[str, Any]) -> str | InstanceStepResult:
    # The default account is named after the instance.
    rt.api.reset_password(details["instance_id"], details["instance_id"], details["password"])
    return "ips"


def _ips(rt: RedisRuntime, op: InstanceOperation, details: dict[str, Any]) -> str | InstanceStepResult:
    rt.api.modify_security_ips(details["instance_id"], details["security_ips"])
    return "tls" if op.parameters.get("tls") else "done"


def _tls(rt: RedisRuntime, op: InstanceOperation, details: dict[str, Any]) -> str | InstanceStepResult:
    rt.api.modify_ssl(details["instance_id"], True)
    rt.cache.invalidate(details["instance_id"])
    details["step"] = "tls_wait"
    return rt.wait(f"Turning on TLS on the Redis instance {details['instance_id']}.")


def _tls_wait(rt: RedisRuntime, op: InstanceOperation, details: dict[str, Any]) -> str | InstanceStepResult:
    waiting = wait_normal(rt, details["instance_id"], "Turning on TLS")
    if waiting is not None:
        return waiting
    if not rt.api.ssl_enabled(details["instance_id"]):
        return rt.wait(f"Waiting for TLS on the Redis instance {details['instance_id']}.")
    details["tls"] = True
    return "done"


_STAGES = {
    "prepare": _prepare,
    "create": _create,
    "wait": _wait,
    "password": _password,
    "ips": _ips,
    "tls": _tls,
    "tls_wait": _tls_wait,
}
