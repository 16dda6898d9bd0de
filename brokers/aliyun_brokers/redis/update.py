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
from aliyun_brokers.redis.network_parameters import refuse_public_ips
from aliyun_brokers.redis.plans import RedisPlan
from aliyun_brokers.redis.provision import instance_metadata, wait_normal
from aliyun_brokers.redis.runtime import RedisRuntime
from aliyun_brokers.redis.stages import run_stages
from openbroker_aliyun.broker import Done, InstanceStepResult
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
    refuse_public_ips(parameters.get("security_ips"), allowed=rt.settings.allow_public_access)


def update(rt: RedisRuntime, op: InstanceOperation) -> InstanceStepResult:
    """One update step: run stages until one has to wait, or the update is applied."""
    details = op.instance.details
    state = details.setdefault("update", {})
    if state.get("op") != op.id:
        state.clear()
        state.update(_targets(rt, op))

    def finish() -> InstanceStepResult:
        details.pop("update", None)
        rt.cache.forget(details["instance_id"])
        return Done(description="The Redis instance was updated.", metadata=instance_metadata(rt, details))

    return run_stages(
        rt, op, state, _STAGES, _DOING, finish, first="spec", instance_usable=True, update_repeatable=True
    )


def _targets(rt: RedisRuntime, op: InstanceOperation) -> dict[str, Any]:
    params, new = op.parameters, rt.plan(op.plan_id)
    old = rt.plan(op.previous_plan_id or op.instance.plan_id)
    state: dict[str, Any] = {"op": op.id, "step": "spec" if new != old else "ips"}
    state["instance_class"] = new.instance_class
    state["shard_count"] = new.shard_count
    if "security_ips" in params:
        state["security_ips"] = list(dict.fromkeys([*rt.settings.security_ips, *params["security_ips"]]))
    if "tls" in params:
        state["tls"] = bool(params["tls"])
    return state


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


def _ips(rt: RedisRuntime, op: InstanceOperation, state: dict[str, Any]) -> str | InstanceStepResult:
    if "security_ips" in state:
        rt.api.modify_security_ips(op.instance.details["instance_id"], state["security_ips"])
        op.instance.details["security_ips"] = state["security_ips"]
    return "tls"


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


_STAGES = {"spec": _spec, "spec_wait": _spec_wait, "ips": _ips, "tls": _tls, "tls_wait": _tls_wait}
