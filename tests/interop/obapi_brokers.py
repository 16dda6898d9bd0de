"""Small but real openbrokerapi brokers, written as their authors write them.

``SyncNotes`` answers every call at once and keeps its instances in memory; like most
openbrokerapi brokers it raises ``ErrInstanceAlreadyExists`` for any PUT of a known id
(it has no idea whether the request is identical). ``AsyncNotes`` answers provision,
deprovision, bind and unbind with ``IS_ASYNC`` and finishes each after ``polls`` calls
of last_operation.
"""

from __future__ import annotations

import secrets
import threading
from typing import Any

from openbrokerapi import errors
from openbrokerapi.catalog import Schemas, ServiceMetadata, ServicePlan, ServicePlanMetadata
from openbrokerapi.service_broker import (
    BindDetails,
    Binding,
    BindState,
    DeprovisionDetails,
    DeprovisionServiceSpec,
    GetBindingSpec,
    LastOperation,
    OperationState,
    ProvisionDetails,
    ProvisionedServiceSpec,
    ProvisionState,
    Service,
    ServiceBroker,
    UnbindDetails,
    UnbindSpec,
    UpdateDetails,
    UpdateServiceSpec,
)

SYNC_SERVICE_ID = "3b0f7a52-8c1d-4e2f-9a6b-7c8d9e0f1a21"
SYNC_PLAN_ID = "4c1a8b63-9d2e-4f30-8b7c-8d9e0f1a2b32"
SYNC_OTHER_PLAN_ID = "5d2b9c74-ae3f-4041-9c8d-9e0f1a2b3c43"
ASYNC_SERVICE_ID = "6e3cad85-bf40-4152-8d9e-0f1a2b3c4d54"
ASYNC_PLAN_ID = "7f4dbe96-c051-4263-9eaf-1a2b3c4d5e65"
ASYNC_OTHER_PLAN_ID = "805ecfa7-d162-4374-8fb0-2b3c4d5e6f76"

NOTES_SCHEMA = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "type": "object",
    "properties": {
        "size": {"type": "integer", "minimum": 1, "maximum": 10, "default": 1, "description": "Notes kept"},
        "colour": {"type": "string", "enum": ["red", "green"]},
        "label": {"type": ["string", "null"], "maxLength": 8, "pattern": "[a-z]+"},
    },
    "required": ["colour"],
    "additionalProperties": False,
}
BIND_SCHEMA = {"type": "object", "properties": {"role": {"type": "string", "enum": ["reader", "writer"]}}}


class SyncNotes(ServiceBroker):
    """Synchronous, in memory; the way the openbrokerapi README writes a broker."""

    def __init__(self) -> None:
        self.instances: dict[str, dict[str, Any]] = {}
        self.bindings: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []
        self.lock = threading.Lock()

    def catalog(self) -> Service:
        return Service(
            id=SYNC_SERVICE_ID,
            name="sync-notes",
            description="Notes, made at once",
            bindable=True,
            plan_updateable=True,
            instances_retrievable=True,
            bindings_retrievable=True,
            tags=["notes"],
            metadata=ServiceMetadata(displayName="Sync notes", longDescription="Kept in memory"),
            allow_context_updates=True,
            plans=[
                ServicePlan(
                    id=SYNC_PLAN_ID,
                    name="small",
                    description="A few notes",
                    metadata=ServicePlanMetadata(displayName="Small", bullets=["one"]),
                    schemas=Schemas(
                        service_instance={"create": {"parameters": NOTES_SCHEMA}},
                        service_binding={"create": {"parameters": BIND_SCHEMA}},
                    ),
                    maximum_polling_duration=600,
                    maintenance_info={"version": "1.0.0", "description": "first"},
                ),
                ServicePlan(id=SYNC_OTHER_PLAN_ID, name="large", description="Many notes", free=False),
            ],
        )

    def provision(
        self, instance_id: str, details: ProvisionDetails, async_allowed: bool, **kwargs: Any
    ) -> ProvisionedServiceSpec:
        with self.lock:
            self.calls.append(f"provision {instance_id}")
            if instance_id in self.instances:
                raise errors.ErrInstanceAlreadyExists()
            parameters = details.parameters or {}
            # A rule across two fields, which their JSON Schema cannot express.
            if parameters.get("colour") == "green" and parameters.get("size", 1) > 5:
                raise errors.ErrInvalidParameters("at most 5 green notes")
            self.instances[instance_id] = {
                "plan_id": details.plan_id,
                "parameters": details.parameters,
                "identity": details.originating_identity,
                "org": details.organization_guid,
            }
        return ProvisionedServiceSpec(dashboard_url=f"http://notes.example/{instance_id}")

    def update(
        self, instance_id: str, details: UpdateDetails, async_allowed: bool, **kwargs: Any
    ) -> UpdateServiceSpec:
        with self.lock:
            self.calls.append(f"update {instance_id}")
            if (
                details.plan_id == SYNC_PLAN_ID
                and self.instances[instance_id]["plan_id"] == SYNC_OTHER_PLAN_ID
            ):
                raise errors.ErrPlanChangeNotSupported()
            self.instances[instance_id]["plan_id"] = details.plan_id
        return UpdateServiceSpec(is_async=False)

    def deprovision(
        self, instance_id: str, details: DeprovisionDetails, async_allowed: bool, **kwargs: Any
    ) -> DeprovisionServiceSpec:
        with self.lock:
            self.calls.append(f"deprovision {instance_id}")
            if self.instances.pop(instance_id, None) is None:
                raise errors.ErrInstanceDoesNotExist()
        return DeprovisionServiceSpec(is_async=False)

    def bind(
        self, instance_id: str, binding_id: str, details: BindDetails, async_allowed: bool, **kwargs: Any
    ) -> Binding:
        with self.lock:
            self.calls.append(f"bind {binding_id}")
            if binding_id in self.bindings:
                raise errors.ErrBindingAlreadyExists()
            if details.bind_resource is None or details.bind_resource.app_guid is None:
                raise errors.ErrAppGuidNotProvided()
            role = (details.parameters or {}).get("role", "reader")
            credentials = {"notes": instance_id, "role": role, "password": secrets.token_urlsafe(12)}
            self.bindings[binding_id] = credentials
        return Binding(credentials=credentials)

    def unbind(
        self, instance_id: str, binding_id: str, details: UnbindDetails, async_allowed: bool, **kwargs: Any
    ) -> UnbindSpec:
        with self.lock:
            self.calls.append(f"unbind {binding_id}")
            if self.bindings.pop(binding_id, None) is None:
                raise errors.ErrBindingDoesNotExist()
        return UnbindSpec(is_async=False)


class AsyncNotes(ServiceBroker):
    """Asynchronous: every mutation takes ``polls`` last_operation calls to finish.

    It has no ``update``: openbrokerapi's base class raises ``NotImplementedError``.
    """

    def __init__(self, polls: int = 2, fail_provision_of: str | None = None) -> None:
        self.polls = polls
        self.fail_provision_of = fail_provision_of
        self.pending: dict[str, int] = {}  # operation -> polls left
        self.instances: set[str] = set()
        self.bindings: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []
        self.lock = threading.Lock()

    def catalog(self) -> Service:
        return Service(
            id=ASYNC_SERVICE_ID,
            name="async-notes",
            description="Notes, made slowly",
            bindable=True,
            bindings_retrievable=True,
            plan_updateable=True,
            plans=[
                ServicePlan(id=ASYNC_PLAN_ID, name="slow", description="Slow notes"),
                ServicePlan(id=ASYNC_OTHER_PLAN_ID, name="slower", description="Slower notes"),
            ],
        )

    def _start(self, operation: str) -> str:
        self.pending[operation] = self.polls
        return operation

    def _advance(self, operation: str | None) -> LastOperation:
        if operation is None or operation not in self.pending:
            raise errors.ErrBadRequest("unknown operation")
        if self.pending[operation] > 0:
            self.pending[operation] -= 1
            return LastOperation(OperationState.IN_PROGRESS, "working")
        if (
            operation.startswith("provision")
            and self.fail_provision_of
            and self.fail_provision_of in operation
        ):
            return LastOperation(OperationState.FAILED, "out of paper")
        return LastOperation(OperationState.SUCCEEDED, "done")

    def provision(
        self, instance_id: str, details: ProvisionDetails, async_allowed: bool, **kwargs: Any
    ) -> ProvisionedServiceSpec:
        with self.lock:
            self.calls.append(f"provision {instance_id} async={async_allowed}")
            if not async_allowed:
                raise errors.ErrAsyncRequired()
            self.instances.add(instance_id)
            return ProvisionedServiceSpec(
                ProvisionState.IS_ASYNC, operation=self._start(f"provision {instance_id}")
            )

    def deprovision(
        self, instance_id: str, details: DeprovisionDetails, async_allowed: bool, **kwargs: Any
    ) -> DeprovisionServiceSpec:
        with self.lock:
            self.calls.append(f"deprovision {instance_id}")
            if not async_allowed:
                raise errors.ErrAsyncRequired()
            return DeprovisionServiceSpec(is_async=True, operation=self._start(f"deprovision {instance_id}"))

    def last_operation(
        self,
        instance_id: str,
        operation_data: str | None,
        service_id: str | None,
        plan_id: str | None,
        **kwargs: Any,
    ) -> LastOperation:
        with self.lock:
            self.calls.append(f"last_operation {operation_data}")
            result = self._advance(operation_data)
            if (
                operation_data
                and operation_data.startswith("deprovision")
                and result.state == OperationState.SUCCEEDED
            ):
                self.instances.discard(instance_id)
            return result

    def bind(
        self, instance_id: str, binding_id: str, details: BindDetails, async_allowed: bool, **kwargs: Any
    ) -> Binding:
        with self.lock:
            self.calls.append(f"bind {binding_id}")
            self.bindings[binding_id] = {"notes": instance_id, "password": secrets.token_urlsafe(12)}
            return Binding(state=BindState.IS_ASYNC, operation=self._start(f"bind {binding_id}"))

    def last_binding_operation(
        self,
        instance_id: str,
        binding_id: str,
        operation_data: str | None,
        service_id: str | None,
        plan_id: str | None,
        **kwargs: Any,
    ) -> LastOperation:
        with self.lock:
            self.calls.append(f"last_binding_operation {operation_data}")
            return self._advance(operation_data)

    def get_binding(self, instance_id: str, binding_id: str, **kwargs: Any) -> GetBindingSpec:
        with self.lock:
            self.calls.append(f"get_binding {binding_id}")
            if binding_id not in self.bindings:
                raise errors.ErrBindingDoesNotExist()
            return GetBindingSpec(credentials=self.bindings[binding_id])

    def unbind(
        self, instance_id: str, binding_id: str, details: UnbindDetails, async_allowed: bool, **kwargs: Any
    ) -> UnbindSpec:
        with self.lock:
            self.calls.append(f"unbind {binding_id}")
            self.bindings.pop(binding_id, None)
            return UnbindSpec(is_async=True, operation=self._start(f"unbind {binding_id}"))
