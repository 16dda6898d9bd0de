"""Small real broker plug-ins for the HTTP tests: a synchronous one and an asynchronous one.

Both record every step call (with the operation the engine handed over), so tests can
check what reached the broker: context, originating identity, parameters. The async
broker keeps an operation in progress while its resource id is in ``hold``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from marshmallow import Schema, fields, validate

from openbroker_aliyun.broker import Bound, Done, InProgress, ServiceBroker
from openbroker_aliyun.catalog.model import Catalog, MaintenanceInfo, Plan, PlanSchemas, Service
from openbroker_aliyun.domain import (
    BindingOperation,
    Endpoint,
    InstanceMetadata,
    InstanceOperation,
    OperationKind,
)
from openbroker_aliyun.errors import OperationFailed

SERVICE_ID = "3f1c2b9e-6b1a-4c55-9d3e-0a4b7c9d1e01"
SMALL_PLAN = "8a5e0c3d-2f4b-4e6a-9c1d-7b3e5f9a1c02"
LARGE_PLAN = "c2d4e6f8-1a3b-4c5d-8e7f-9a0b1c2d3e03"
OTHER_SERVICE_ID = "5b7d9f1a-3c5e-4a7b-9d1f-2b4c6d8e0f04"
OTHER_PLAN = "e1f3a5b7-9c1d-4e3f-8a5b-6c7d8e9f0a05"

# The password every binding gets: tests search logs for it.
BINDING_PASSWORD = "s3cret-Binding-Pa55word-9f2e"
# In the message of the exceptions a broker bug raises: must never reach a response.
EXCEPTION_MARKER = "internal-detail-7c1e"


class ProvisionParameters(Schema):
    size = fields.Integer(validate=validate.Range(min=1, max=100), load_default=10)
    label = fields.String()


class UpdateParameters(Schema):
    size = fields.Integer(validate=validate.Range(min=1, max=100))
    label = fields.String()


class BindParameters(Schema):
    role = fields.String(validate=validate.OneOf(["reader", "writer"]), load_default="writer")


SCHEMAS = PlanSchemas(provision=ProvisionParameters, update=UpdateParameters, bind=BindParameters)

CATALOG = Catalog(
    services=(
        Service(
            id=SERVICE_ID,
            name="test-db",
            description="A database for HTTP tests",
            bindable=True,
            instances_retrievable=True,
            bindings_retrievable=True,
            allow_context_updates=True,
            plan_updateable=True,
            tags=("test",),
            plans=(
                Plan(
                    id=SMALL_PLAN,
                    name="small",
                    description="Small",
                    schemas=SCHEMAS,
                    maintenance_info=MaintenanceInfo(version="1.0.0"),
                ),
                Plan(id=LARGE_PLAN, name="large", description="Large", schemas=SCHEMAS),
            ),
        ),
        Service(
            id=OTHER_SERVICE_ID,
            name="other",
            description="Not bindable",
            bindable=False,
            plans=(Plan(id=OTHER_PLAN, name="only", description="The only plan"),),
        ),
    )
)


@dataclass(frozen=True)
class Call:
    step: str
    op: InstanceOperation | BindingOperation


class RecordingBroker(ServiceBroker):
    """Synchronous: every step finishes at once and is recorded."""

    catalog = CATALOG

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: list[Call] = []
        # Resource ids whose step raises an unexpected exception (a bug in the broker).
        self.explode: set[str] = set()
        # Resource ids whose step ends the operation as failed.
        self.fail: set[str] = set()

    def _record(self, step: str, op: InstanceOperation | BindingOperation) -> None:
        with self._lock:
            self.calls.append(Call(step, op))
            resource_id = op.binding.id if isinstance(op, BindingOperation) else op.instance.id
            explode, fail = resource_id in self.explode, resource_id in self.fail
        if explode:
            raise RuntimeError(f"broker bug while handling {resource_id}: {EXCEPTION_MARKER}")
        if fail:
            raise OperationFailed(f"{step} failed on purpose", instance_usable=True, update_repeatable=False)

    def steps(self, step: str, instance_id: str) -> list[InstanceOperation]:
        """The operations of one instance handed to a step (provision, update, deprovision)."""
        with self._lock:
            return [
                call.op
                for call in self.calls
                if call.step == step
                and isinstance(call.op, InstanceOperation)
                and call.op.instance.id == instance_id
            ]

    def binding_steps(self, step: str, binding_id: str) -> list[BindingOperation]:
        """The operations of one binding handed to a step (bind, unbind)."""
        with self._lock:
            return [
                call.op
                for call in self.calls
                if call.step == step
                and isinstance(call.op, BindingOperation)
                and call.op.binding.id == binding_id
            ]

    def calls_for(self, instance_id: str) -> list[Call]:
        """Every step call about an instance or one of its bindings."""
        with self._lock:
            return [call for call in self.calls if call.op.instance.id == instance_id]

    def provision(self, op: InstanceOperation) -> InProgress | Done:
        self._record("provision", op)
        return Done(
            dashboard_url=f"https://dashboard.example/{op.instance.id}",
            metadata=InstanceMetadata(labels={"size": str(op.parameters.get("size"))}),
        )

    def update(self, op: InstanceOperation) -> InProgress | Done:
        self._record("update", op)
        return Done()

    def deprovision(self, op: InstanceOperation) -> InProgress | Done:
        self._record("deprovision", op)
        return Done()

    def bind(self, op: BindingOperation) -> InProgress | Bound:
        self._record("bind", op)
        return self._bound(op)

    def _bound(self, op: BindingOperation) -> Bound:
        return Bound(
            credentials={
                "uri": f"postgresql://u_{op.binding.id}:{BINDING_PASSWORD}@db.example:5432/app",
                "username": f"u_{op.binding.id}",
                "password": BINDING_PASSWORD,
                "host": "db.example",
                "port": 5432,
            },
            endpoints=(Endpoint(host="db.example", ports=("5432",)),),
        )

    def unbind(self, op: BindingOperation) -> InProgress | Done:
        self._record("unbind", op)
        return Done()


class AsyncRecordingBroker(RecordingBroker):
    """Asynchronous: every operation answers 202; a step stays in progress while held."""

    async_operations = frozenset(OperationKind)

    def __init__(self) -> None:
        super().__init__()
        self.hold: set[str] = set()
        self.retry_after = 0.05

    def _held(self, resource_id: str) -> bool:
        with self._lock:
            return resource_id in self.hold

    def release(self, resource_id: str) -> None:
        with self._lock:
            self.hold.discard(resource_id)

    def provision(self, op: InstanceOperation) -> InProgress | Done:
        self._record("provision", op)
        if self._held(op.instance.id):
            return InProgress("creating", retry_after=self.retry_after)
        return Done(dashboard_url=f"https://dashboard.example/{op.instance.id}")

    def update(self, op: InstanceOperation) -> InProgress | Done:
        self._record("update", op)
        if self._held(op.instance.id):
            return InProgress("updating", retry_after=self.retry_after)
        return Done()

    def deprovision(self, op: InstanceOperation) -> InProgress | Done:
        self._record("deprovision", op)
        if self._held(op.instance.id):
            return InProgress("deleting", retry_after=self.retry_after)
        return Done()

    def bind(self, op: BindingOperation) -> InProgress | Bound:
        self._record("bind", op)
        if self._held(op.binding.id):
            return InProgress("binding", retry_after=self.retry_after)
        return self._bound(op)

    def unbind(self, op: BindingOperation) -> InProgress | Done:
        self._record("unbind", op)
        if self._held(op.binding.id):
            return InProgress("unbinding", retry_after=self.retry_after)
        return Done()
