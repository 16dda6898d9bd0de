"""Updating an RDS instance: plan (class, category), storage, security IPs, TLS.

``validate_update`` runs before anything is recorded and refuses what cannot be done
(engine version changes, shrinking storage, another storage type) with a 422 that says
why. The step then runs stages in ``RdsUpdate.step`` (``details["update"]``):

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

from aliyun_brokers.common.broker import UpdateSteps
from aliyun_brokers.common.parameters import refuse_disallowed_ips
from aliyun_brokers.common.progress import Updating, known
from aliyun_brokers.common.stages import StageTable
from aliyun_brokers.common.update import network_targets, update_whitelist
from aliyun_brokers.rds.cloud import RUNNING
from aliyun_brokers.rds.plans import RdsPlan
from aliyun_brokers.rds.progress import RdsProgress, RdsUpdate
from aliyun_brokers.rds.runtime import RdsRuntime
from aliyun_brokers.rds.wire import (
    DescribeDBInstanceAttribute,
    DescribeDBInstanceSSL,
    ModifyDBInstanceSpec,
    ModifyDBInstanceSSL,
)
from openbroker_aliyun.broker import InstanceStepResult
from openbroker_aliyun.domain import InstanceOperation, InstanceRecord
from openbroker_aliyun.errors import UnprocessableEntity

__all__ = ["UPDATE", "check_update", "target_storage"]

State = Updating[RdsProgress, RdsUpdate]


def current_storage(instance: InstanceRecord) -> int:
    return int(RdsProgress.load(instance.details).storage_gb or instance.parameters.get("storage_gb") or 0)


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
    version = RdsProgress.load(instance.details).engine_version or instance.parameters.get("engine_version")
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


def _targets(rt: RdsRuntime, op: InstanceOperation, p: RdsProgress) -> RdsUpdate:
    """What an update operation changes the instance to (recorded once per operation)."""
    old = rt.plan(op.previous_plan_id or op.instance.plan_id)
    new = rt.plan(op.plan_id)
    if p.instance_class is None:
        p.instance_class = old.instance_class
    if p.category is None:
        p.category = old.category
    return RdsUpdate(
        op=op.id,
        step="spec",
        instance_class=new.instance_class,
        category=new.category,
        storage_gb=target_storage(op.instance, old, new, op.parameters),
        **network_targets(rt, op.parameters),
    )


def _spec(rt: RdsRuntime, op: InstanceOperation, state: State) -> str | InstanceStepResult:
    p, target = state.instance, state.update
    changes = (
        target.instance_class != p.instance_class
        or target.storage_gb != int(known(p.storage_gb, "storage_gb"))
        or target.category != p.category
    )
    if not changes:
        return "ips"
    instance_id = p.cloud_id
    item = rt.describe(instance_id).item
    status = item.status if item else None
    if status != RUNNING:
        return rt.wait(
            f"Waiting for the RDS instance {instance_id} ({status or 'not found'}) before changing it."
        )
    rt.api.modify_spec(
        ModifyDBInstanceSpec(
            instance_id=instance_id,
            db_instance_class=target.instance_class,
            db_instance_storage=target.storage_gb,
            pay_type="Postpaid",
            effective_time="Immediate",
            category=target.category if target.category != p.category else None,
        )
    )
    rt.cache.invalidate(instance_id)
    target.step = "spec_wait"
    return rt.wait(f"Changing the RDS instance {instance_id} to {target.instance_class}.")


def _spec_wait(rt: RdsRuntime, op: InstanceOperation, state: State) -> str | InstanceStepResult:
    p, target = state.instance, state.update
    instance_id = p.cloud_id
    item = rt.describe(instance_id).item
    status = item.status if item else "not found"
    if status != RUNNING or item is None or item.db_instance_class != target.instance_class:
        # Running with the old class: the change has not started yet.
        return rt.wait(f"The RDS instance {instance_id} is {status} (changing to {target.instance_class}).")
    if target.storage_gb != int(known(p.storage_gb, "storage_gb")):
        # The list call does not carry the storage size: one attribute read confirms it.
        attribute = rt.api.describe_attribute(DescribeDBInstanceAttribute(instance_id=instance_id))
        if int((attribute.db_instance_storage if attribute else None) or 0) != target.storage_gb:
            return rt.wait(
                f"The RDS instance {instance_id} is growing its storage to {target.storage_gb} GB."
            )
    p.instance_class = target.instance_class
    p.storage_gb = target.storage_gb
    p.category = target.category
    return "ips"


def _tls(rt: RdsRuntime, op: InstanceOperation, state: State) -> str | InstanceStepResult:
    p, target = state.instance, state.update
    if target.tls is None or target.tls == bool(p.tls):
        return "done"
    rt.api.modify_ssl(
        ModifyDBInstanceSSL(
            instance_id=p.cloud_id,
            connection_string=known(p.host, "host"),
            ssl_enabled=1 if target.tls else 0,
        )
    )
    target.step = "tls_wait"
    return rt.wait(f"Switching TLS {'on' if target.tls else 'off'} on the RDS instance {p.cloud_id}.")


def _tls_wait(rt: RdsRuntime, op: InstanceOperation, state: State) -> str | InstanceStepResult:
    p, target = state.instance, state.update
    if rt.api.describe_ssl(DescribeDBInstanceSSL(instance_id=p.cloud_id)).enabled != target.tls:
        return rt.wait(f"Waiting for TLS to switch on the RDS instance {p.cloud_id}.")
    p.tls = target.tls
    return "done"


#: The update: its targets, and its stages in ``RdsUpdate.step``.
UPDATE: UpdateSteps[RdsRuntime, RdsProgress, RdsUpdate] = UpdateSteps(
    targets=_targets,
    stages=StageTable(
        first="spec",
        stages={
            "spec": (_spec, "Changing the RDS instance's class or storage"),
            "spec_wait": (_spec_wait, "Waiting for the RDS instance's class or storage change"),
            "ips": (update_whitelist, "Changing the RDS instance's security IPs"),
            "tls": (_tls, "Switching TLS"),
            "tls_wait": (_tls_wait, "Waiting for TLS to switch"),
        },
    ),
)
