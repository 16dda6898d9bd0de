"""Deprovisioning: delete every cloud instance of an OSB instance, and wait until gone.

Product-neutral: the runtime's ``CloudKind`` says how a product names, finds and deletes
its instances (``RdsApi.kind()``, ``KvstoreApi.kind()``). ``CloudBroker.deprovision``
runs ``stages(noun)`` from ``details["deprovision"]`` (a ``DeprovisionProgress``):

    find      the recorded instance id; with none recorded (a provision cut short
              before it could save the id), the instances tagged for this OSB instance
    delete    the delete call, once the instance is in a state that allows it (a
              DELETE during provisioning waits here while the instance is being created)
    gone      until the batched describe no longer lists it (or lists it as released)
    sweep     one last tag search: anything else tagged for this OSB instance is
              deleted too, so no instance is ever left behind

The operation succeeds only when every instance is gone.
"""

from __future__ import annotations

from typing import Any

from aliyun_brokers.common.progress import CloudProgress, Deleting, DeprovisionProgress
from aliyun_brokers.common.runtime import CloudRuntime
from aliyun_brokers.common.stages import StageTable
from openbroker_aliyun.aliyun.port import AliyunError
from openbroker_aliyun.broker import Done, InstanceStepResult
from openbroker_aliyun.domain import InstanceOperation
from openbroker_aliyun.errors import OperationFailed

__all__ = ["finish", "stages", "start"]

# The final tag search runs at most this many times (each finding new instances).
_MAX_SWEEPS = 3

Runtime = CloudRuntime[Any, Any, Any, Any]
State = Deleting[CloudProgress]


def start(op: InstanceOperation) -> DeprovisionProgress:
    """The progress of a new deprovision operation."""
    return DeprovisionProgress(op=op.id, step="find", gone=[], sweeps=0)


def stages(noun: str) -> StageTable[Runtime, InstanceOperation, State, InstanceStepResult]:
    """The stages of deprovisioning a product's instance (``noun``: "RDS instance")."""
    return StageTable(
        first="find",
        stages={
            "find": (_find, f"Looking up the {noun}"),
            "delete": (_delete, f"Deleting the {noun}"),
            "gone": (_gone, f"Waiting for the {noun} to be deleted"),
            "sweep": (_sweep, f"Checking that no {noun} is left"),
        },
        rounds=_MAX_SWEEPS + 1,
    )


def finish(rt: Runtime, state: State) -> InstanceStepResult:
    """Every instance is gone: stop watching them."""
    for instance_id in state.deprovision.ids or ():
        rt.cache.forget(instance_id)
    return Done(description=f"The {rt.kind.noun} was deleted.")


def _tagged(rt: Runtime, op: InstanceOperation) -> list[str]:
    return rt.kind.tagged_ids(rt.settings.broker_id, op.instance.id)


def _find(rt: Runtime, op: InstanceOperation, state: State) -> str | InstanceStepResult:
    recorded = state.instance.recorded_id
    state.deprovision.ids = [recorded] if recorded else _tagged(rt, op)
    return "delete" if state.deprovision.ids else "sweep"


def _delete(rt: Runtime, op: InstanceOperation, state: State) -> str | InstanceStepResult:
    kind, waiting, progress = rt.kind, [], state.deprovision
    for instance_id in progress.ids or ():
        if instance_id in progress.gone:
            continue
        item = rt.describe(instance_id).item
        if item is None:
            progress.gone.append(instance_id)
            continue
        status = kind.status(item)
        if status in kind.leaving_states:
            continue  # the next stage waits for it
        if status in kind.wait_states:
            waiting.append(f"{instance_id} is {status}")
            continue
        try:
            if not kind.delete(instance_id):
                progress.gone.append(instance_id)
        except AliyunError as error:
            if error.code in kind.refusals:
                raise OperationFailed(
                    f"The {kind.noun} {instance_id} cannot be deleted: {kind.refusals[error.code]}",
                    instance_usable=True,
                ) from None
            if error.code in kind.busy_codes:
                waiting.append(f"{instance_id} cannot be deleted in its current state yet")
                continue
            raise
        rt.cache.invalidate(instance_id)
    if waiting:
        return rt.wait(f"Waiting to delete the {kind.noun}: " + "; ".join(waiting) + ".")
    return "gone"


def _gone(rt: Runtime, op: InstanceOperation, state: State) -> str | InstanceStepResult:
    remaining, progress = [], state.deprovision
    for instance_id in progress.ids or ():
        if instance_id in progress.gone:
            continue
        item = rt.describe(instance_id).item
        # A released instance is in the recycle bin, which Alibaba empties on its own.
        if item is None or rt.kind.status(item) in rt.kind.gone_states:
            progress.gone.append(instance_id)
        else:
            remaining.append(f"{instance_id} is {rt.kind.status(item)}")
    if remaining:
        return rt.wait(f"Deleting the {rt.kind.noun}: " + "; ".join(remaining) + ".")
    return "sweep"


def _sweep(rt: Runtime, op: InstanceOperation, state: State) -> str | InstanceStepResult:
    progress = state.deprovision
    # A listing may still show an instance just confirmed gone by id; ignore those.
    leftovers = [instance_id for instance_id in _tagged(rt, op) if instance_id not in progress.gone]
    if not leftovers:
        return "done"
    progress.sweeps += 1
    if progress.sweeps > _MAX_SWEEPS:
        raise OperationFailed(
            f"{rt.kind.noun}s tagged for this service instance keep appearing: "
            + ", ".join(leftovers)
            + ". An operator should check the Alibaba Cloud account.",
            instance_usable=False,
        )
    progress.ids = list(dict.fromkeys([*(progress.ids or ()), *leftovers]))
    return "delete"
