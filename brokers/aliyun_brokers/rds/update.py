"""Updating an RDS instance: plan (class, category), storage, security IPs, TLS.

``validate_update`` runs before anything is recorded and refuses what cannot be done
(engine version changes, shrinking storage, another storage type) with a 422 that says
why. The step then runs stages in ``details["update"]["step"]``:

    spec       ModifyDBInstanceSpec with the target class, storage and category, when
               any of them changes (status goes DBInstanceClassChanging → Running)
    spec_wait  until Running with the target class (and storage)
    ips        ModifySecurityIps, mode Cover: the operator's list plus the user's
    tls        ModifyDBInstanceSSL when TLS is switched
    tls_wait   until DescribeDBInstanceSSL agrees

A failed update leaves the instance usable and the update repeatable.
"""

from __future__ import annotations

from typing import Any, Mapping

from aliyun_brokers.common.parameters import refuse_disallowed_ips
from aliyun_brokers.common.stages import Stage
from aliyun_brokers.common.update import network_targets, run_update, update_whitelist
from aliyun_brokers.rds.cloud import RUNNING
from aliyun_brokers.rds.plans import RdsPlan
from aliyun_brokers.rds.runtime import RdsRuntime
from openbroker_aliyun.broker import InstanceStepResult
from openbroker_aliyun.domain import InstanceOperation, InstanceRecord
from openbroker_aliyun.errors import UnprocessableEntity

__all__ = ["check_update", "target_storage", "update"]

_DOING = {
    "spec": "Changing the RDS instance's class or storage",
    "spec_wait": "Waiting for the RDS instance's class or storage change",
    "ips": "Changing the RDS instance's security IPs",
    "tls": "Switching TLS",
    "tls_wait": "Waiting for TLS to switch",
}


def current_storage(instance: InstanceRecord) -> int:
    return int(instance.details.get("storage_gb") or instance.parameters.get("storage_gb") or 0)


def target_storage(
    instance: InstanceRecord, old: RdsPlan, new: RdsPlan, parameters: Mapping[str, Any]
) -> int:
    """Storage after the update: what was asked, else at least the new plan's default; never less."""
    now = current_storage(instance)
    if "storage_gb" in parameters:
        return max(now, int(parameters["storage_gb"]))
    return max(now, new.storage_gb) if new != old else now


def check_update(
    rt: RdsRuntime, instance: InstanceRecord, old: RdsPlan, new: RdsPlan, parameters: Mapping[str, Any]
) -> None:
    """Refuse an update that cannot be done (before anything is recorded)."""
    version = instance.details.get("engine_version") or instance.parameters.get("engine_version")
    wanted = parameters.get("engine_version")
    if wanted is not None and wanted != version:
        raise UnprocessableEntity(
            f"Changing the engine version (from {version} to {wanted}) is not supported by this broker. "
            "Create a new service instance with the version you want and move the data."
        )
    if new.engine != old.engine:
        raise UnprocessableEntity(f"A {old.engine} instance cannot change to a {new.engine} plan.")
    if new.storage_type != old.storage_type:
        raise UnprocessableEntity(
            f"This plan uses another storage type ({new.storage_type}, not {old.storage_type}); "
            "the storage type of an existing instance cannot change. "
            "Choose a plan with the same storage type."
        )
    now = current_storage(instance)
    asked = parameters.get("storage_gb")
    if asked is not None and int(asked) < now:
        raise UnprocessableEntity(
            f"Storage can only grow: the instance has {now} GB, and {asked} GB was asked for."
        )
    target = target_storage(instance, old, new, parameters)
    if target > new.max_storage_gb:
        raise UnprocessableEntity(
            f"The instance has {target} GB of storage, "
            f"more than this plan's maximum of {new.max_storage_gb} GB; "
            "choose a larger plan."
        )
    refuse_disallowed_ips(parameters.get("security_ips"), rt.settings.whitelist_policy)


def update(rt: RdsRuntime, op: InstanceOperation) -> InstanceStepResult:
    """One update step: run stages until one has to wait, or the update is applied."""
    return run_update(rt, op, targets=lambda: _targets(rt, op), stages=_STAGES, doing=_DOING, first="spec")


def _targets(rt: RdsRuntime, op: InstanceOperation) -> dict[str, Any]:
    details, params = op.instance.details, op.parameters
    old = rt.plan(op.previous_plan_id or op.instance.plan_id)
    new = rt.plan(op.plan_id)
    details.setdefault("instance_class", old.instance_class)
    details.setdefault("category", old.category)
    return {
        "instance_class": new.instance_class,
        "category": new.category,
        "storage_gb": target_storage(op.instance, old, new, params),
        **network_targets(rt, params),
    }


def _spec(rt: RdsRuntime, op: InstanceOperation, state: dict[str, Any]) -> str | InstanceStepResult:
    details = op.instance.details
    changes = (
        state["instance_class"] != details["instance_class"]
        or state["storage_gb"] != int(details["storage_gb"])
        or state["category"] != details["category"]
    )
    if not changes:
        return "ips"
    instance_id = details["db_instance_id"]
    described = rt.describe(instance_id)
    status = described.item.get("DBInstanceStatus") if described.item else None
    if status != RUNNING:
        return rt.wait(
            f"Waiting for the RDS instance {instance_id} ({status or 'not found'}) before changing it."
        )
    rt.api.modify_spec(
        instance_id,
        instance_class=state["instance_class"],
        storage_gb=state["storage_gb"],
        category=state["category"] if state["category"] != details["category"] else None,
    )
    rt.cache.invalidate(instance_id)
    state["step"] = "spec_wait"
    return rt.wait(f"Changing the RDS instance {instance_id} to {state['instance_class']}.")


def _spec_wait(rt: RdsRuntime, op: InstanceOperation, state: dict[str, Any]) -> str | InstanceStepResult:
    details = op.instance.details
    instance_id = details["db_instance_id"]
    described = rt.describe(instance_id)
    item = described.item or {}
    status = item.get("DBInstanceStatus", "not found")
    if status != RUNNING or item.get("DBInstanceClass") != state["instance_class"]:
        # Running with the old class: the change has not started yet.
        return rt.wait(f"The RDS instance {instance_id} is {status} (changing to {state['instance_class']}).")
    if state["storage_gb"] != int(details["storage_gb"]):
        # The list call does not carry the storage size: one attribute read confirms it.
        attribute = rt.api.describe_attribute(instance_id) or {}
        if int(attribute.get("DBInstanceStorage") or 0) != state["storage_gb"]:
            return rt.wait(
                f"The RDS instance {instance_id} is growing its storage to {state['storage_gb']} GB."
            )
    details.update(
        instance_class=state["instance_class"], storage_gb=state["storage_gb"], category=state["category"]
    )
    return "ips"


def _tls(rt: RdsRuntime, op: InstanceOperation, state: dict[str, Any]) -> str | InstanceStepResult:
    details = op.instance.details
    if "tls" not in state or state["tls"] == bool(details.get("tls")):
        return "done"
    rt.api.modify_ssl(details["db_instance_id"], details["host"], state["tls"])
    state["step"] = "tls_wait"
    return rt.wait(
        f"Switching TLS {'on' if state['tls'] else 'off'} on the RDS instance {details['db_instance_id']}."
    )


def _tls_wait(rt: RdsRuntime, op: InstanceOperation, state: dict[str, Any]) -> str | InstanceStepResult:
    details = op.instance.details
    if rt.api.ssl_enabled(details["db_instance_id"]) != state["tls"]:
        return rt.wait(f"Waiting for TLS to switch on the RDS instance {details['db_instance_id']}.")
    details["tls"] = state["tls"]
    return "done"


_STAGES: dict[str, Stage[RdsRuntime, InstanceOperation, InstanceStepResult]] = {
    "spec": _spec,
    "spec_wait": _spec_wait,
    "ips": update_whitelist,
    "tls": _tls,
    "tls_wait": _tls_wait,
}
