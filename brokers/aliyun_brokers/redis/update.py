"""Updating a Redis instance: plan (instance class, shards), security IPs, TLS.

``check_update`` runs before anything is recorded and refuses what cannot be done (an
engine version change, another architecture or node type) with a 422 that says why. The
step then runs stages in ``details["update"]["step"]``:

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

from aliyun_brokers.common.naming import client_token
from aliyun_brokers.common.parameters import refuse_disallowed_ips
from aliyun_brokers.common.stages import Stage
from aliyun_brokers.common.update import network_targets, run_update, update_whitelist
from aliyun_brokers.redis.plans import RedisPlan
from aliyun_brokers.redis.provision import wait_normal
from aliyun_brokers.redis.runtime import RedisRuntime
from openbroker_aliyun.broker import InstanceStepResult
from openbroker_aliyun.domain import InstanceOperation, InstanceRecord
from openbroker_aliyun.errors import UnprocessableEntity

__all__ = ["check_update", "update"]

_DOING = {
    "spec": "Changing the Redis instance's class",
    "spec_wait": "Waiting for the Redis instance's class change",
    "ips": "Changing the Redis instance's whitelist",
    "tls": "Switching TLS",
    "tls_wait": "Waiting for TLS to switch",
}


def check_update(
    rt: RedisRuntime, instance: InstanceRecord, old: RedisPlan, new: RedisPlan, parameters: Mapping[str, Any]
) -> None:
    """Refuse an update that cannot be done (before anything is recorded)."""
    version = instance.details.get("engine_version") or instance.parameters.get("engine_version")
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


def update(rt: RedisRuntime, op: InstanceOperation) -> InstanceStepResult:
    """One update step: run stages until one has to wait, or the update is applied."""
    return run_update(rt, op, targets=lambda: _targets(rt, op), stages=_STAGES, doing=_DOING, first="spec")


def _targets(rt: RedisRuntime, op: InstanceOperation) -> dict[str, Any]:
    new, old = rt.plan(op.plan_id), rt.plan(op.previous_plan_id or op.instance.plan_id)
    return {
        # The same plan: nothing to change but what the parameters say.
        "step": "spec" if new != old else "ips",
        "instance_class": new.instance_class,
        "shard_count": new.shard_count,
        **network_targets(rt, op.parameters),
    }


def _has_spec(item: Mapping[str, Any], state: Mapping[str, Any]) -> bool:
    shards = item.get("ShardCount")
    return item.get("InstanceClass") == state["instance_class"] and (
        state["shard_count"] is None or shards is None or int(shards) == state["shard_count"]
    )


def _spec(rt: RedisRuntime, op: InstanceOperation, state: dict[str, Any]) -> str | InstanceStepResult:
    instance_id = op.instance.details["instance_id"]
    waiting = wait_normal(rt, instance_id, "Waiting to change the class")
    if waiting is not None:
        return waiting
    item = rt.describe(instance_id).item or {}
    if not _has_spec(item, state):
        rt.api.modify_spec(
            instance_id,
            instance_class=state["instance_class"],
            shard_count=state["shard_count"],
            token=client_token(rt.settings.broker_id, op.instance.id, f"modify:{op.id}"),
        )
        rt.cache.invalidate(instance_id)
    state["step"] = "spec_wait"
    return rt.wait(f"Changing the Redis instance {instance_id} to {state['instance_class']}.")


def _spec_wait(rt: RedisRuntime, op: InstanceOperation, state: dict[str, Any]) -> str | InstanceStepResult:
    details = op.instance.details
    instance_id = details["instance_id"]
    waiting = wait_normal(rt, instance_id, f"Changing to {state['instance_class']}")
    if waiting is not None:
        return waiting
    item = rt.describe(instance_id).item or {}
    if not _has_spec(item, state):
        # Normal with the old class: the change has not started yet.
        return rt.wait(f"The Redis instance {instance_id} is changing to {state['instance_class']}.")
    details["instance_class"] = state["instance_class"]
    return "ips"


def _tls(rt: RedisRuntime, op: InstanceOperation, state: dict[str, Any]) -> str | InstanceStepResult:
    details = op.instance.details
    if "tls" not in state or state["tls"] == bool(details.get("tls")):
        return "done"
    rt.api.modify_ssl(details["instance_id"], state["tls"])
    rt.cache.invalidate(details["instance_id"])
    state["step"] = "tls_wait"
    return rt.wait(
        f"Switching TLS {'on' if state['tls'] else 'off'} on the Redis instance {details['instance_id']}."
    )


def _tls_wait(rt: RedisRuntime, op: InstanceOperation, state: dict[str, Any]) -> str | InstanceStepResult:
    details = op.instance.details
    waiting = wait_normal(rt, details["instance_id"], "Switching TLS")
    if waiting is not None:
        return waiting
    if rt.api.ssl_enabled(details["instance_id"]) != state["tls"]:
        return rt.wait(f"Waiting for TLS to switch on the Redis instance {details['instance_id']}.")
    details["tls"] = state["tls"]
    return "done"


_STAGES: dict[str, Stage[RedisRuntime, InstanceOperation, InstanceStepResult]] = {
    "spec": _spec,
    "spec_wait": _spec_wait,
    "ips": update_whitelist,
    "tls": _tls,
    "tls_wait": _tls_wait,
}
