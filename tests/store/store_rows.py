"""Builders of store rows for the store tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from openbroker_aliyun.domain import (
    BindingRecord,
    Context,
    InstanceRecord,
    OperationKind,
    OperationState,
    RequestInfo,
)
from openbroker_aliyun.store import (
    BindingStatus,
    InstanceStatus,
    Store,
    StoredBinding,
    StoredInstance,
    StoredOperation,
)

SECRET = "pa55-w0rd-that-must-not-leak"


def now() -> datetime:
    return datetime.now(UTC)


def add_instance_with_secrets(store: Store, *, status: InstanceStatus = InstanceStatus.READY) -> str:
    """An instance, a binding and an operation, each holding ``SECRET`` in a secret column."""
    instance_id = str(uuid.uuid4())
    at = now()
    op = StoredOperation(
        id=uuid.uuid4().hex,
        instance_id=instance_id,
        binding_id=None,
        kind=OperationKind.PROVISION,
        state=OperationState.SUCCEEDED,
        plan_id="plan",
        started_at=at,
        updated_at=at,
        next_run_at=at,
        parameters={"password": SECRET},
        info=RequestInfo(accepts_incomplete=True),
    )
    instance = StoredInstance(
        record=InstanceRecord(
            id=instance_id,
            service_id="service",
            plan_id="plan",
            parameters={"password": SECRET, "size": 1},
            context=Context(raw={"platform": "cloudfoundry"}),
            details={"admin_password": SECRET},
        ),
        status=status,
        operation_id=op.id,
        created_at=at,
        updated_at=at,
        deleted_at=at if status == InstanceStatus.DELETED else None,
    )
    binding = StoredBinding(
        record=BindingRecord(
            id="b-" + instance_id,
            instance_id=instance_id,
            service_id="service",
            plan_id="plan",
            parameters={"note": SECRET},
            details={"user_password": SECRET},
        ),
        status=BindingStatus.BOUND,
        operation_id=None,
        created_at=at,
        updated_at=at,
        result={"credentials": {"password": SECRET}},
    )

    def write(tx):  # type: ignore[no-untyped-def]
        tx.add_instance(instance)
        tx.add_operation(op)
        tx.add_binding(binding)

    store.transact(write)
    return instance_id


def add_instance(store: Store, instance_id: str, **record: object) -> None:
    """A bare instance (no operation, no binding); ``record`` sets ``InstanceRecord`` fields."""
    at = now()
    values: dict[str, object] = {"id": instance_id, "service_id": "service", "plan_id": "plan", **record}
    stored = StoredInstance(
        record=InstanceRecord(**values),  # type: ignore[arg-type]
        status=InstanceStatus.READY,
        operation_id=None,
        created_at=at,
        updated_at=at,
    )
    store.transact(lambda tx: tx.add_instance(stored))
