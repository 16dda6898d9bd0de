"""Rows to domain objects and back: the one place that knows both shapes."""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

from openbroker_aliyun.domain import (
    BindingRecord,
    Context,
    InstanceMetadata,
    InstanceRecord,
    OperationKind,
    OperationState,
    OriginatingIdentity,
    RequestInfo,
)
from openbroker_aliyun.store.encryption import FieldCipher
from openbroker_aliyun.store.rows import (
    BindingSnapshot,
    BindingStatus,
    InstanceSnapshot,
    InstanceStatus,
    OperationSummary,
    StoredBinding,
    StoredInstance,
    StoredOperation,
)

# The enum members by stored value, for the per-poll lookup: a dict read is a fraction of
# what calling the enum costs.
_KINDS = {kind.value: kind for kind in OperationKind}
_STATES = {state.value: state for state in OperationState}


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _metadata(text: str | None) -> InstanceMetadata:
    metadata = _load(text) or {}
    return InstanceMetadata(labels=metadata.get("labels") or {}, attributes=metadata.get("attributes") or {})


def info_to_json(info: RequestInfo) -> dict[str, Any]:
    identity = info.originating_identity
    return {
        "api_version": info.api_version,
        "originating_identity": (
            {"platform": identity.platform, "value": dict(identity.value)} if identity else None
        ),
        "request_identity": info.request_identity,
        "accepts_incomplete": info.accepts_incomplete,
    }


def info_from_json(data: Mapping[str, Any]) -> RequestInfo:
    identity = data.get("originating_identity")
    return RequestInfo(
        api_version=data.get("api_version", "2.17"),
        originating_identity=(
            OriginatingIdentity(platform=identity["platform"], value=identity["value"]) if identity else None
        ),
        request_identity=data.get("request_identity"),
        accepts_incomplete=bool(data.get("accepts_incomplete", False)),
    )


class RowMapper:
    """Maps rows of the three tables, sealing and opening the secret columns."""

    def __init__(self, cipher: FieldCipher) -> None:
        self.cipher = cipher

    # -- instances -------------------------------------------------------------------

    def instance_values(self, stored: StoredInstance) -> dict[str, Any]:
        record = stored.record
        return {
            "id": record.id,
            "service_id": record.service_id,
            "plan_id": record.plan_id,
            "status": str(stored.status),
            "operation_id": stored.operation_id,
            "parameters": self.cipher.seal(record.parameters),
            "details": self.cipher.seal(record.details),
            "context": _dump(dict(record.context.raw)),
            "organization_guid": record.organization_guid,
            "space_guid": record.space_guid,
            "maintenance_info_version": record.maintenance_info_version,
            "dashboard_url": record.dashboard_url,
            "metadata": _dump(
                {"labels": dict(record.metadata.labels), "attributes": dict(record.metadata.attributes)}
            ),
            "created_at": stored.created_at,
            "updated_at": stored.updated_at,
            "provisioned_at": stored.provisioned_at,
            "deleted_at": stored.deleted_at,
        }

    def instance(self, row: Mapping[Any, Any]) -> StoredInstance:
        where = f"instance {row['id']!r}"
        record = InstanceRecord(
            id=row["id"],
            service_id=row["service_id"],
            plan_id=row["plan_id"],
            parameters=self.cipher.open(row["parameters"], f"osb_instances.parameters of {where}"),
            context=Context(raw=_load(row["context"]) or {}),
            organization_guid=row["organization_guid"],
            space_guid=row["space_guid"],
            maintenance_info_version=row["maintenance_info_version"],
            dashboard_url=row["dashboard_url"],
            metadata=_metadata(row["metadata"]),
            details=self.cipher.open(row["details"], f"osb_instances.details of {where}"),
        )
        return StoredInstance(
            record=record,
            status=InstanceStatus(row["status"]),
            operation_id=row["operation_id"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            provisioned_at=row["provisioned_at"],
            deleted_at=row["deleted_at"],
        )

    # -- bindings --------------------------------------------------------------------

    def binding_values(self, stored: StoredBinding) -> dict[str, Any]:
        record = stored.record
        return {
            "instance_id": record.instance_id,
            "id": record.id,
            "service_id": record.service_id,
            "plan_id": record.plan_id,
            "status": str(stored.status),
            "operation_id": stored.operation_id,
            "parameters": self.cipher.seal(record.parameters),
            "details": self.cipher.seal(record.details),
            "result": None if stored.result is None else self.cipher.seal(stored.result),
            "context": _dump(dict(record.context.raw)),
            "bind_resource": _dump(record.bind_resource),
            "app_guid": record.app_guid,
            "predecessor_binding_id": record.predecessor_binding_id,
            "created_at": stored.created_at,
            "updated_at": stored.updated_at,
            "bound_at": stored.bound_at,
            "deleted_at": stored.deleted_at,
        }

    def binding(self, row: Mapping[Any, Any]) -> StoredBinding:
        where = f"binding {row['id']!r} of instance {row['instance_id']!r}"
        record = BindingRecord(
            id=row["id"],
            instance_id=row["instance_id"],
            service_id=row["service_id"],
            plan_id=row["plan_id"],
            parameters=self.cipher.open(row["parameters"], f"osb_bindings.parameters of {where}"),
            context=Context(raw=_load(row["context"]) or {}),
            bind_resource=_load(row["bind_resource"]) or {},
            app_guid=row["app_guid"],
            predecessor_binding_id=row["predecessor_binding_id"],
            details=self.cipher.open(row["details"], f"osb_bindings.details of {where}"),
        )
        result = row["result"]
        return StoredBinding(
            record=record,
            status=BindingStatus(row["status"]),
            operation_id=row["operation_id"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            result=None if result is None else self.cipher.open(result, f"osb_bindings.result of {where}"),
            bound_at=row["bound_at"],
            deleted_at=row["deleted_at"],
        )

    # -- operations ------------------------------------------------------------------

    def operation_values(self, op: StoredOperation) -> dict[str, Any]:
        return {
            "id": op.id,
            "instance_id": op.instance_id,
            "binding_id": op.binding_id,
            "kind": str(op.kind),
            "state": str(op.state),
            "plan_id": op.plan_id,
            "previous_plan_id": op.previous_plan_id,
            "parameters": self.cipher.seal(op.parameters),
            "context": None if op.context is None else _dump(op.context),
            "maintenance_info_version": op.maintenance_info_version,
            "info": _dump(info_to_json(op.info)),
            "description": op.description,
            "instance_usable": op.instance_usable,
            "update_repeatable": op.update_repeatable,
            "attempt": op.attempt,
            "failures": op.failures,
            "retry_after": op.retry_after,
            "started_at": op.started_at,
            "updated_at": op.updated_at,
            "finished_at": op.finished_at,
            "next_run_at": op.next_run_at,
            "lease_owner": op.lease_owner,
            "lease_expires_at": op.lease_expires_at,
        }

    def operation(self, row: Mapping[Any, Any]) -> StoredOperation:
        return StoredOperation(
            id=row["id"],
            instance_id=row["instance_id"],
            binding_id=row["binding_id"],
            kind=OperationKind(row["kind"]),
            state=OperationState(row["state"]),
            plan_id=row["plan_id"],
            previous_plan_id=row["previous_plan_id"],
            parameters=self.cipher.open(
                row["parameters"], f"osb_operations.parameters of operation {row['id']!r}"
            ),
            context=_load(row["context"]),
            maintenance_info_version=row["maintenance_info_version"],
            info=info_from_json(_load(row["info"]) or {}),
            description=row["description"],
            instance_usable=row["instance_usable"],
            update_repeatable=row["update_repeatable"],
            attempt=row["attempt"],
            failures=row["failures"],
            retry_after=row["retry_after"],
            started_at=row["started_at"],
            updated_at=row["updated_at"],
            finished_at=row["finished_at"],
            next_run_at=row["next_run_at"],
            lease_owner=row["lease_owner"],
            lease_expires_at=row["lease_expires_at"],
        )

    # -- lean reads (``openbroker_aliyun.store.lookups``) ----------------------------

    def operation_summary(self, row: Sequence[Any]) -> OperationSummary | None:
        """The summary in a lookup row (``OPERATION_SUMMARY_COLUMNS`` from index 1), as
        the driver returns it: booleans may be 0 and 1 (SQLite, MySQL)."""
        if row[1] is None:
            return None
        usable, repeatable, retry_after = row[7], row[8], row[9]
        return OperationSummary(
            id=row[1],
            instance_id=row[2],
            binding_id=row[3],
            kind=_KINDS[row[4]],
            state=_STATES[row[5]],
            description=row[6],
            instance_usable=None if usable is None else bool(usable),
            update_repeatable=None if repeatable is None else bool(repeatable),
            retry_after=None if retry_after is None else float(retry_after),
        )

    def instance_snapshot(self, row: Mapping[Any, Any]) -> InstanceSnapshot:
        kind, state = row["op_kind"], row["op_state"]
        return InstanceSnapshot(
            status=InstanceStatus(row["status"]),
            service_id=row["service_id"],
            plan_id=row["plan_id"],
            dashboard_url=row["dashboard_url"],
            parameters=self.cipher.open(
                row["parameters"], f"osb_instances.parameters of instance {row['id']!r}"
            ),
            maintenance_info_version=row["maintenance_info_version"],
            metadata=_metadata(row["metadata"]),
            operation_kind=None if kind is None else OperationKind(kind),
            operation_state=None if state is None else OperationState(state),
        )

    def binding_snapshot(self, row: Mapping[Any, Any]) -> BindingSnapshot:
        where = f"binding {row['id']!r} of instance {row['instance_id']!r}"
        result = row["result"]
        return BindingSnapshot(
            status=BindingStatus(row["status"]),
            parameters=self.cipher.open(row["parameters"], f"osb_bindings.parameters of {where}"),
            result=None if result is None else self.cipher.open(result, f"osb_bindings.result of {where}"),
        )
