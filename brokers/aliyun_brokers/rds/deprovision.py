"""Deprovisioning: delete every RDS instance of the OSB instance, and wait until gone.

Stages, in ``details["deprovision"]["step"]``:

    find      the recorded instance id; with none recorded (a provision cut short
              before it could save the id), the instances tagged for this OSB instance
    delete    DeleteDBInstance, once the instance is in a state that allows it (a
              DELETE during provisioning waits here while the instance is Creating)
    gone      until DescribeDBInstances no longer lists it
    sweep     one last tag search: anything else tagged for this OSB instance is
              deleted too, so no instance is ever left behind

The operation succeeds only when every instance is gone.
"""

from __future__ import annotations

from typing import Any, Callable

from aliyun_brokers.common.failures import fail_or_retry
from aliyun_brokers.common.lookup import find_tagged
from aliyun_brokers.rds.runtime import GONE_STATES, RdsRuntime
from openbroker_aliyun.aliyun.port import AliyunError
from openbroker_aliyun.broker import Done, InstanceStepResult
from openbroker_aliyun.domain import InstanceOperation
from openbroker_aliyun.errors import OperationFailed

__all__ = ["deprovision"]

# States in which DeleteDBInstance is refused but will be accepted later.
_WAIT_STATES = frozenset({"Creating", "DBInstanceClassChanging", "Rebooting", "Restoring", "TRANSING"})
# The final tag search runs at most this many times (each finding new instances).
_MAX_SWEEPS = 3

_DOING = {
    "find": "Looking up the RDS instance",
    "delete": "Deleting the RDS instance",
    "gone": "Waiting for the RDS instance to be deleted",
    "sweep": "Checking that no RDS instance is left",
}

Stage = Callable[[RdsRuntime, InstanceOperation, dict[str, Any]], "str | InstanceStepResult"]


def deprovision(rt: RdsRuntime, op: InstanceOperation) -> InstanceStepResult:
    """One deprovision step: run stages until one has to wait, or everything is gone."""
    state = op.instance.details.setdefault("deprovision", {})
    if state.get("op") != op.id:
        state.clear()
        state.update(op=op.id, step="find", gone=[], sweeps=0)
    for _ in range(len(_STAGES) * (_MAX_SWEEPS + 1) + 1):  # bounded: sweeps may loop back
        stage = state["step"]
        if stage == "done":
            for instance_id in state["ids"]:
                rt.cache.forget(instance_id)
            return Done(description="The RDS instance was deleted.")
        try:
            outcome = _STAGES[stage](rt, op, state)
        except AliyunError as error:
            fail_or_retry(error, _DOING[stage], instance_usable=True)
        if not isinstance(outcome, str):
            return outcome
        state["step"] = outcome
    raise AssertionError("deprovision stages did not converge")


def _tagged(rt: RdsRuntime, op: InstanceOperation) -> list[str]:
    return find_tagged(
        rt.api.find_by_tags,
        broker_id=rt.settings.broker_id,
        instance_id=op.instance.id,
        id_key="DBInstanceId",
    )


def _find(rt: RdsRuntime, op: InstanceOperation, state: dict[str, Any]) -> str | InstanceStepResult:
    recorded = op.instance.details.get("db_instance_id")
    state["ids"] = [recorded] if recorded else _tagged(rt, op)
    if not state["ids"]:
        return "sweep"
    return "delete"


def _delete(rt: RdsRuntime, op: InstanceOperation, state: dict[str, Any]) -> str | InstanceStepResult:
    waiting = []
    for instance_id in state["ids"]:
        if instance_id in state["gone"]:
            continue
        described = rt.describe(instance_id)
        if described.item is None:
            state["gone"].append(instance_id)
            continue
        status = described.item.get("DBInstanceStatus", "")
        if status in GONE_STATES:
            continue
        if status in _WAIT_STATES:
            waiting.append(f"{instance_id} is {status}")
            continue
        try:
            if not rt.api.delete_instance(instance_id):
                state["gone"].append(instance_id)
        except AliyunError as error:
            if error.code == "OperationDenied.DeletionProtection":
                raise OperationFailed(
                    f"The RDS instance {instance_id} has deletion protection on; "
                    "an operator must turn it off "
                    "in the Alibaba Cloud console, then the deletion can be tried again.",
                    instance_usable=True,
                ) from None
            if error.code in ("IncorrectDBInstanceState", "OperationDenied.DBInstanceStatus"):
                waiting.append(f"{instance_id} cannot be deleted in its current state yet")
                continue
            raise
        rt.cache.invalidate(instance_id)
    if waiting:
        return rt.wait("Waiting to delete the RDS instance: " + "; ".join(waiting) + ".")
    return "gone"


def _gone(rt: RdsRuntime, op: InstanceOperation, state: dict[str, Any]) -> str | InstanceStepResult:
    remaining = []
    for instance_id in state["ids"]:
        if instance_id in state["gone"]:
            continue
        described = rt.describe(instance_id)
        # Released: in the recycle bin, which Alibaba empties on its own.
        if described.item is None or described.item.get("DBInstanceStatus") == "Released":
            state["gone"].append(instance_id)
        else:
            remaining.append(f"{instance_id} is {described.item.get('DBInstanceStatus', 'unknown')}")
    if remaining:
        return rt.wait("Deleting the RDS instance: " + "; ".join(remaining) + ".")
    return "sweep"


def _sweep(rt: RdsRuntime, op: InstanceOperation, state: dict[str, Any]) -> str | InstanceStepResult:
    # A listing may still show an instance just confirmed gone by id; ignore those.
    leftovers = [instance_id for instance_id in _tagged(rt, op) if instance_id not in state["gone"]]
    if not leftovers:
        return "done"
    state["sweeps"] += 1
    if state["sweeps"] > _MAX_SWEEPS:
        raise OperationFailed(
            "RDS instances tagged for this service instance keep appearing: "
            + ", ".join(leftovers)
            + ". An operator should check the Alibaba Cloud account.",
            instance_usable=False,
        )
    state["ids"] = list(dict.fromkeys([*state["ids"], *leftovers]))
    return "delete"


_STAGES: dict[str, Stage] = {
    "find": _find,
    "delete": _delete,
    "gone": _gone,
    "sweep": _sweep,
}
