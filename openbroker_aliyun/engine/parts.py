"""What the engine's request handlers, stepper and driver share."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from openbroker_aliyun.broker import ServiceBroker
from openbroker_aliyun.domain import (
    BindingOperation,
    Context,
    InstanceOperation,
    OperationKind,
    OperationState,
    RequestInfo,
)
from openbroker_aliyun.engine.leases import LeaseKeeper
from openbroker_aliyun.engine.resolve import CatalogIndex
from openbroker_aliyun.engine.sameness import changed_keys
from openbroker_aliyun.engine.settings import DriverSettings
from openbroker_aliyun.store import Store, StoredBinding, StoredInstance, StoredOperation


@dataclass
class EngineParts:
    broker: ServiceBroker
    store: Store
    catalog: CatalogIndex
    settings: DriverSettings
    leases: LeaseKeeper
    #: Tells the driver of this process that an operation is due now.
    wake: Callable[[], None]

    def max_duration(self, plan_id: str) -> float:
        """Seconds an operation on this plan may take before it fails."""
        plan = self.catalog.plan(plan_id)
        if plan is not None and plan.maximum_polling_duration:
            return float(plan.maximum_polling_duration)
        return self.settings.default_max_duration


def new_operation(
    *,
    kind: OperationKind,
    instance_id: str,
    binding_id: str | None,
    plan_id: str,
    now: datetime,
    info: RequestInfo,
    parameters: dict[str, Any] | None = None,
    previous_plan_id: str | None = None,
    context: Context | None = None,
    maintenance_info_version: str | None = None,
    inline_owner: str | None = None,
    lease_seconds: float = 0.0,
) -> StoredOperation:
    """A new operation, due now; ``inline_owner`` holds its lease (a step run in the request)."""
    return StoredOperation(
        # The token the platform echoes in last_operation: opaque, far below 10,000 chars.
        id=uuid.uuid4().hex,
        instance_id=instance_id,
        binding_id=binding_id,
        kind=kind,
        state=OperationState.IN_PROGRESS,
        plan_id=plan_id,
        previous_plan_id=previous_plan_id,
        parameters=dict(parameters or {}),
        context=None if context is None else dict(context.raw),
        maintenance_info_version=maintenance_info_version,
        info=info,
        started_at=now,
        updated_at=now,
        next_run_at=now,
        lease_owner=inline_owner,
        lease_expires_at=now + timedelta(seconds=lease_seconds) if inline_owner else None,
    )


def domain_operation(
    op: StoredOperation, instance: StoredInstance, binding: StoredBinding | None
) -> InstanceOperation | BindingOperation:
    """What the broker's step receives for this operation."""
    if op.binding_id is not None:
        if binding is None:
            raise LookupError(f"binding {op.binding_id!r} of operation {op.id!r} is missing")
        return BindingOperation(
            id=op.id,
            kind=op.kind,
            instance=instance.record,
            binding=binding.record,
            parameters=dict(op.parameters),
            info=op.info,
            attempt=op.attempt + 1,
            started_at=op.started_at,
        )
    parameters = dict(op.parameters)
    if op.kind == OperationKind.UPDATE:
        # The broker gets the parameters that change something; the rest it has.
        parameters = changed_keys(instance.record.parameters, parameters)
    return InstanceOperation(
        id=op.id,
        kind=op.kind,
        instance=instance.record,
        plan_id=op.plan_id,
        parameters=parameters,
        previous_plan_id=op.previous_plan_id,
        context=None if op.context is None else Context(raw=op.context),
        info=op.info,
        attempt=op.attempt + 1,
        started_at=op.started_at,
    )
