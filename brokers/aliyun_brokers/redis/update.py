"""Updating a Redis instance: plan (instance class, shards), security IPs, TLS.

``check_update`` runs before anything is recorded and refuses what cannot be done (an
engine version change, another architecture or node type) with a 422 that says why. The
step then runs stages in ``RedisUpdate.step`` (``details["update"]``):

    spec       ModifyInstanceSpec with the target class (and shard count), with a
               ``ClientToken`` per operation; skipped when the instance already has it
    spec_wait  until ``Normal`` with the target class (``Changing`` → ``Normal``)
    ips        ModifySecurityIps, mode Cover: the operator's list plus the user's
    tls        ModifyInstanceSSL when TLS is switched
    tls_wait   until ``Normal`` again and DescribeInstanceSSL agrees

A failed update leaves the instance usable and the update repeatable.
"""

from __future__ import annotations

from typing import Any, Mapping

from aliyun_brokers.common.broker import UpdateSteps
from aliyun_brokers.common.naming import client_token
from aliyun_brokers.common.parameters import refuse_disallowed_ips
from aliyun_brokers.common.progress import Updating
from aliyun_brokers.common.stages import StageTable
from aliyun_brokers.common.update import network_targets, update_whitelist
from aliyun_brokers.redis.plans import RedisPlan
from aliyun_brokers.redis.progress import RedisProgress, RedisUpdate
from aliyun_brokers.redis.provision import wait_normal
from aliyun_brokers.redis.runtime import RedisRuntime
from aliyun_brokers.redis.wire import (
    DescribeInstanceSSL,
    KVStoreInstance,
    ModifyInstanceSpec,
    ModifyInstanceSSL,
)
from openbroker_aliyun.broker import InstanceStepResult
from openbroker_aliyun.domain import InstanceOperation, InstanceRecord
from openbroker_aliyun.errors import UnprocessableEntity

__all__ = ["UPDATE", "check_update"]

State = Updating[RedisProgress, RedisUpdate]


def check_update(
    rt: RedisRuntime, instance: InstanceRecord, old: RedisPlan, new: RedisPlan, parameters: Mapping[str, Any]
) -> None:
    """Refuse an update that cannot be done (before anything is recorded)."""
    version = RedisProgress.load(instance.details).engine_version or instance.parameters.get("engine_version")
    wanted = parameters.get("engine_version")
    if wanted is not None and wanted != version:
        raise UnprocessableEntity(
            f"Changing the Redis version (from {version} to {wanted}) is not supported by this broker. "
            "Create a new service instance with the version you want and move the data."
        )
    if version and version not in new.engine_versions:
        raise UnprocessableEntity(
            f"The instance runs Redis {version}, which the new plan does not offer "
            f"({', '.join(new.engine_versions)}); choose a plan that offers it."
        )
    if (new.architecture, new.node_type) != (old.architecture, old.node_type):
        raise UnprocessableEntity(
            f"A {old.architecture} {old.node_type} instance cannot change to a {new.architecture} "
            f"{new.node_type} plan; choose a plan of the same architecture and node type."
        )
    if new != old and new.instance_class is None:
        raise UnprocessableEntity(
            "The new plan is sized by capacity only, which an existing instance cannot change to; "
            "choose a plan with an instance class."
        )
    refuse_disallowed_ips(parameters.get("security_ips"), rt.settings.whitelist_policy)


def _targets(rt: RedisRuntime, op: InstanceOperation, p: RedisProgress) -> RedisUpdate:
    """What an update operation changes the instance to (recorded once per operation)."""
    new, old = rt.plan(op.plan_id), rt.plan(op.previous_plan_id or op.instance.plan_id)
    return RedisUpdate(
        op=op.id,
        # The same plan: nothing to change but what the parameters say.
        step="spec" if new != old else "ips",
        instance_class=new.instance_class,
        shard_count=new.shard_count,
        **network_targets(rt, op.parameters),
    )


def _has_spec(item: KVStoreInstance | None, target: RedisUpdate) -> bool:
    shards = item.shard_count if item else None
    return (item.instance_class if item else None) == target.instance_class and (
        target.shard_count is None or shards is None or shards == target.shard_count
    )


def _spec(rt: RedisRuntime, op: InstanceOperation, state: State) -> str | InstanceStepResult:
    target, instance_id = state.update, state.instance.cloud_id
    waiting = wait_normal(rt, instance_id, "Waiting to change the class")
    if waiting is not None:
        return waiting
    if not _has_spec(rt.describe(instance_id).item, target):
        rt.api.modify_spec(
            ModifyInstanceSpec(
                instance_id=instance_id,
                instance_class=target.instance_class,
                effective_time="Immediately",
                client_token=client_token(rt.settings.broker_id, op.instance.id, f"modify:{op.id}"),
                shard_count=target.shard_count,
            )
        )
        rt.cache.invalidate(instance_id)
    target.step = "spec_wait"
    return rt.wait(f"Changing the Redis instance {instance_id} to {target.instance_class}.")


def _spec_wait(rt: RedisRuntime, op: InstanceOperation, state: State) -> str | InstanceStepResult:
    target, instance_id = state.update, state.instance.cloud_id
    waiting = wait_normal(rt, instance_id, f"Changing to {target.instance_class}")
    if waiting is not None:
        return waiting
    if not _has_spec(rt.describe(instance_id).item, target):
        # Normal with the old class: the change has not started yet.
        return rt.wait(f"The Redis instance {instance_id} is changing to {target.instance_class}.")
    state.instance.instance_class = target.instance_class
    return "ips"


def _tls(rt: RedisRuntime, op: InstanceOperation, state: State) -> str | InstanceStepResult:
    p, target = state.instance, state.update
    if target.tls is None or target.tls == bool(p.tls):
        return "done"
    switch = "Enable" if target.tls else "Disable"
    rt.api.modify_ssl(ModifyInstanceSSL(instance_id=p.cloud_id, ssl_enabled=switch))
    rt.cache.invalidate(p.cloud_id)
    target.step = "tls_wait"
    return rt.wait(f"Switching TLS {'on' if target.tls else 'off'} on the Redis instance {p.cloud_id}.")


def _tls_wait(rt: RedisRuntime, op: InstanceOperation, state: State) -> str | InstanceStepResult:
    p, target = state.instance, state.update
    waiting = wait_normal(rt, p.cloud_id, "Switching TLS")
    if waiting is not None:
        return waiting
    if rt.api.describe_ssl(DescribeInstanceSSL(instance_id=p.cloud_id)).enabled != target.tls:
        return rt.wait(f"Waiting for TLS to switch on the Redis instance {p.cloud_id}.")
    p.tls = target.tls
    return "done"


#: The update: its targets, and its stages in ``RedisUpdate.step``.
UPDATE: UpdateSteps[RedisRuntime, RedisProgress, RedisUpdate] = UpdateSteps(
    targets=_targets,
    stages=StageTable(
        first="spec",
        stages={
            "spec": (_spec, "Changing the Redis instance's class"),
            "spec_wait": (_spec_wait, "Waiting for the Redis instance's class change"),
            "ips": (update_whitelist, "Changing the Redis instance's whitelist"),
            "tls": (_tls, "Switching TLS"),
            "tls_wait": (_tls_wait, "Waiting for TLS to switch"),
        },
    ),
)
