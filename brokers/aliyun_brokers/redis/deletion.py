"""Deprovisioning: delete every cloud instance of an OSB instance, and wait until gone.

Product-neutral (nothing here knows Redis): a ``CloudKind`` (cloud_kind.py) says how a
product names and deletes its instances. Written to move to ``aliyun_brokers.common`` as it is; the RDS
broker's deprovision.py is this sequence with RDS's names.

Stages, in ``details["deprovision"]["step"]``:

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

from dataclasses import dataclass
from typing import Any, Mapping

from aliyun_brokers.common.describe_cache import DescribeCache
from aliyun_brokers.redis.cloud_kind import CloudKind
from aliyun_brokers.redis.stages import run_stages
from openbroker_aliyun.aliyun.port import AliyunError
from openbroker_aliyun.broker import Done, InProgress, InstanceStepResult
from openbroker_aliyun.domain import InstanceOperation
from openbroker_aliyun.errors import OperationFailed

__all__ = ["deprovision"]

# The final tag search runs at most this many times (each finding new instances).
_MAX_SWEEPS = 3


@dataclass(frozen=True)
class _Deletion:
    kind: CloudKind
    broker_id: str
    cache: DescribeCache
    refresh: float

    def wait(self, description: str) -> InProgress:
        return InProgress(description=description, retry_after=self.refresh)

    def status(self, item: Mapping[str, Any]) -> str:
        return self.kind.status(item)


def deprovision(
    kind: CloudKind, op: InstanceOperation, *, broker_id: str, cache: DescribeCache, refresh_seconds: float
) -> InstanceStepResult:
    """One deprovision step: run stages until one has to wait, or everything is gone."""
    state = op.instance.details.setdefault("deprovision", {})
    if state.get("op") != op.id:
        state.clear()
        state.update(op=op.id, step="find", gone=[], sweeps=0)
    run = _Deletion(kind, broker_id, cache, refresh_seconds)
    doing = {
        "find": f"Looking up the {kind.noun}",
        "delete": f"Deleting the {kind.noun}",
        "gone": f"Waiting for the {kind.noun} to be deleted",
        "sweep": f"Checking that no {kind.noun} is left",
    }

    def finish() -> InstanceStepResult:
        for instance_id in state["ids"]:
            cache.forget(instance_id)
        return Done(description=f"The {kind.noun} was deleted.")

    return run_stages(
        run, op, state, _STAGES, doing, finish, first="find", rounds=_MAX_SWEEPS + 1, instance_usable=True
    )


def _tagged(run: _Deletion, op: InstanceOperation) -> list[str]:
    return run.kind.tagged_ids(run.broker_id, op.instance.id)


def _find(run: _Deletion, op: InstanceOperation, state: dict[str, Any]) -> str | InstanceStepResult:
    recorded = op.instance.details.get(run.kind.id_detail)
    state["ids"] = [recorded] if recorded else _tagged(run, op)
    return "delete" if state["ids"] else "sweep"


def _delete(run: _Deletion, op: InstanceOperation, state: dict[str, Any]) -> str | InstanceStepResult:
    kind, waiting = run.kind, []
    for instance_id in state["ids"]:
        if instance_id in state["gone"]:
            continue
        item = run.cache.get(instance_id).item
        if item is None:
            state["gone"].append(instance_id)
            continue
        status = run.status(item)
        if status in kind.gone_states or status in kind.deleting_states:
            continue  # the next stage waits for it
        if status in kind.wait_states:
            waiting.append(f"{instance_id} is {status}")
            continue
        try:
            if not kind.delete(instance_id):
                state["gone"].append(instance_id)
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
        run.cache.invalidate(instance_id)
    if waiting:
        return run.wait(f"Waiting to delete the {kind.noun}: " + "; ".join(waiting) + ".")
    return "gone"


def _gone(run: _Deletion, op: InstanceOperation, state: dict[str, Any]) -> str | InstanceStepResult:
    remaining = []
    for instance_id in state["ids"]:
        if instance_id in state["gone"]:
            continue
        item = run.cache.get(instance_id).item
        # A released instance is in the recycle bin, which Alibaba empties on its own.
        if item is None or run.status(item) in run.kind.gone_states:
            state["gone"].append(instance_id)
        else:
            remaining.append(f"{instance_id} is {run.status(item)}")
    if remaining:
        return run.wait(f"Deleting the {run.kind.noun}: " + "; ".join(remaining) + ".")
    return "sweep"


def _sweep(run: _Deletion, op: InstanceOperation, state: dict[str, Any]) -> str | InstanceStepResult:
    # A listing may still show an instance just confirmed gone by id; ignore those.
    leftovers = [instance_id for instance_id in _tagged(run, op) if instance_id not in state["gone"]]
    if not leftovers:
        return "done"
    state["sweeps"] += 1
    if state["sweeps"] > _MAX_SWEEPS:
        raise OperationFailed(
            f"{run.kind.noun}s tagged for this service instance keep appearing: "
            + ", ".join(leftovers)
            + ". An operator should check the Alibaba Cloud account.",
            instance_usable=False,
        )
    state["ids"] = list(dict.fromkeys([*state["ids"], *leftovers]))
    return "delete"


_STAGES = {"find": _find, "delete": _delete, "gone": _gone, "sweep": _sweep}
