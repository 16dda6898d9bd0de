"""What the store hands the engine: domain records plus the framework's bookkeeping.

A ``StoredInstance`` wraps the broker-facing ``InstanceRecord`` with the status and the
current operation; likewise for bindings. ``StoredOperation`` is one row of the
operations table. These are mutable: the engine changes them and asks the store to save.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from openbroker_aliyun.domain import (
    BindingRecord,
    InstanceMetadata,
    InstanceRecord,
    JSONDict,
    OperationKind,
    OperationState,
    RequestInfo,
)


class InstanceStatus(enum.StrEnum):
    """Where an instance is in its life."""

    PROVISIONING = "provisioning"
    READY = "ready"
    #: The provision failed (or was superseded); the instance was never usable.
    FAILED = "failed"
    DEPROVISIONING = "deprovisioning"
    #: A tombstone: kept so last_operation can answer, purged after the retention time.
    DELETED = "deleted"


class BindingStatus(enum.StrEnum):
    """Where a binding is in its life."""

    BINDING = "binding"
    BOUND = "bound"
    FAILED = "failed"
    UNBINDING = "unbinding"
    DELETED = "deleted"


@dataclass
class StoredInstance:
    record: InstanceRecord
    status: InstanceStatus
    operation_id: str | None
    created_at: datetime
    updated_at: datetime
    provisioned_at: datetime | None = None
    deleted_at: datetime | None = None

    @property
    def id(self) -> str:
        return self.record.id


@dataclass
class StoredBinding:
    record: BindingRecord
    status: BindingStatus
    operation_id: str | None
    created_at: datetime
    updated_at: datetime
    #: What the bind step returned (credentials, endpoints, ...): JSON, stored encrypted.
    result: JSONDict | None = None
    bound_at: datetime | None = None
    deleted_at: datetime | None = None

    @property
    def id(self) -> str:
        return self.record.id


@dataclass
class StoredOperation:
    """One operation: its request (plan, parameters, context), state and schedule.

    ``parameters`` are the validated parameters of the request: for an update, the ones
    given (the engine hands the broker those that change something).
    """

    id: str
    instance_id: str
    binding_id: str | None
    kind: OperationKind
    state: OperationState
    plan_id: str
    started_at: datetime
    updated_at: datetime
    next_run_at: datetime
    previous_plan_id: str | None = None
    parameters: JSONDict = field(default_factory=dict)
    context: dict[str, Any] | None = None
    maintenance_info_version: str | None = None
    info: RequestInfo = field(default_factory=RequestInfo)
    description: str | None = None
    instance_usable: bool | None = None
    update_repeatable: bool | None = None
    attempt: int = 0
    failures: int = 0
    retry_after: float | None = None
    finished_at: datetime | None = None
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None

    @property
    def in_progress(self) -> bool:
        return self.state == OperationState.IN_PROGRESS

    def lease_live(self, now: datetime) -> bool:
        """True while someone holds this operation's lease."""
        return (
            self.lease_owner is not None and self.lease_expires_at is not None and self.lease_expires_at > now
        )


# -- lean reads (see ``openbroker_aliyun.store.lookups``) -------------------------------
# Named tuples rather than frozen dataclasses: last_operation builds them on every poll,
# and a frozen dataclass costs several times as much to build.


class OperationSummary(NamedTuple):
    """How an operation stands: what last_operation answers from. Nothing secret."""

    id: str
    instance_id: str
    binding_id: str | None
    kind: OperationKind
    state: OperationState
    description: str | None = None
    instance_usable: bool | None = None
    update_repeatable: bool | None = None
    retry_after: float | None = None

    @property
    def in_progress(self) -> bool:
        return self.state == OperationState.IN_PROGRESS


class OperationLookup(NamedTuple):
    """A resource's operation as last_operation asks for it, read in one statement.

    ``binding_found`` is True when no binding was asked for. ``operation`` is the
    operation named by the token, else the resource's current one; None when there is
    none (or the resource is missing).
    """

    instance_found: bool
    binding_found: bool
    operation: OperationSummary | None


@dataclass(frozen=True)
class InstanceSnapshot:
    """What GET instance answers from: the instance's visible fields and its current
    operation's kind and state (None when it has none)."""

    status: InstanceStatus
    service_id: str
    plan_id: str
    dashboard_url: str | None
    parameters: JSONDict
    maintenance_info_version: str | None
    metadata: InstanceMetadata
    operation_kind: OperationKind | None
    operation_state: OperationState | None


@dataclass(frozen=True)
class BindingSnapshot:
    """What GET binding answers from: status, parameters and the bind step's result."""

    status: BindingStatus
    parameters: JSONDict
    result: JSONDict | None
