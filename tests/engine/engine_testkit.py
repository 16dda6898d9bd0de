"""A real test broker plug-in and helpers for the engine tests.

``RecordingBroker`` is a ``ServiceBroker`` whose steps record every call (in memory and,
given ``effects_url``, in a table of a real database shared between processes). It can
be told how many steps each operation takes, to fail (``OperationFailed``), to raise
(a transient error), to raise a ``BrokerError``, or to sleep inside a step. Its details
hold a fake secret, so tests can check it is encrypted at rest.

Effects table ``test_effects``: one row per step call on ``enter`` and one per completed
step on ``effect`` (written after the step's sleep, before it returns).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from marshmallow import Schema, fields, validate
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select
from sqlalchemy import Engine as SQLEngine

from openbroker_aliyun.broker import Bound, Done, InProgress, ServiceBroker
from openbroker_aliyun.catalog.model import Catalog, MaintenanceInfo, Plan, PlanSchemas, Service
from openbroker_aliyun.domain import (
    BindingOperation,
    BindRequest,
    Context,
    DeprovisionRequest,
    Endpoint,
    FetchBindingRequest,
    FetchInstanceRequest,
    InstanceMetadata,
    InstanceOperation,
    InstanceRecord,
    LastOperationRequest,
    OperationKind,
    ProvisionRequest,
    RequestInfo,
    UnbindRequest,
    UpdateRequest,
)
from openbroker_aliyun.engine import DriverSettings, Engine
from openbroker_aliyun.errors import BadRequest, BrokerError, OperationFailed
from openbroker_aliyun.store.database import make_engine

SERVICE_ID = "6f0b4a35-8a0e-4d56-9a77-1d0b6f2d0001"
OTHER_SERVICE_ID = "6f0b4a35-8a0e-4d56-9a77-1d0b6f2d0002"
SMALL = "6f0b4a35-8a0e-4d56-9a77-1d0b6f2d1001"
LARGE = "6f0b4a35-8a0e-4d56-9a77-1d0b6f2d1002"
FIXED = "6f0b4a35-8a0e-4d56-9a77-1d0b6f2d1003"
QUICK = "6f0b4a35-8a0e-4d56-9a77-1d0b6f2d1004"
OTHER_PLAN = "6f0b4a35-8a0e-4d56-9a77-1d0b6f2d2001"

#: A value that must never appear in clear text in the database or in logs.
SECRET_MARK = "sup3r-s3cret-"

#: Driver settings for tests: milliseconds, not seconds.
FAST = DriverSettings(
    poll_interval=0.02,
    batch_size=10,
    lease_seconds=2.0,
    default_max_duration=30.0,
    backoff_base=0.01,
    backoff_cap=0.05,
)


class ProvisionParams(Schema):
    size = fields.Integer(load_default=10, validate=validate.Range(min=1, max=100))
    admin_password = fields.String(load_default=None, allow_none=True)
    label = fields.String(load_default="none")


class UpdateParams(Schema):
    size = fields.Integer(validate=validate.Range(min=1, max=100))
    label = fields.String()


class BindParams(Schema):
    role = fields.String(load_default="rw", validate=validate.OneOf(["ro", "rw"]))


def make_catalog() -> Catalog:
    schemas = PlanSchemas(provision=ProvisionParams, update=UpdateParams, bind=BindParams)
    return Catalog(
        services=(
            Service(
                id=SERVICE_ID,
                name="testdb",
                description="A test database",
                bindable=True,
                instances_retrievable=True,
                bindings_retrievable=True,
                allow_context_updates=True,
                plan_updateable=True,
                plans=(
                    Plan(
                        id=SMALL,
                        name="small",
                        description="small",
                        schemas=schemas,
                        binding_rotatable=True,
                        maintenance_info=MaintenanceInfo(version="1.0.0"),
                    ),
                    Plan(
                        id=LARGE,
                        name="large",
                        description="large",
                        schemas=schemas,
                        maintenance_info=MaintenanceInfo(version="2.0.0"),
                    ),
                    Plan(id=FIXED, name="fixed", description="fixed", plan_updateable=False, bindable=False),
                    Plan(id=QUICK, name="quick", description="quick", maximum_polling_duration=1),
                ),
            ),
            Service(
                id=OTHER_SERVICE_ID,
                name="other",
                description="Another service",
                bindable=False,
                plans=(Plan(id=OTHER_PLAN, name="other", description="other"),),
            ),
        )
    )


_effects_meta = MetaData()
effects = Table(
    "test_effects",
    _effects_meta,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("pid", Integer, nullable=False),
    Column("phase", String(16), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("instance_id", String(255), nullable=False),
    Column("binding_id", String(255), nullable=True),
    Column("operation", String(64), nullable=False),
    Column("step", Integer, nullable=False),
)


def effects_engine(url: str) -> SQLEngine:
    engine = make_engine(url, pool_size=2, max_overflow=8)
    _effects_meta.create_all(engine)
    return engine


def effect_rows(engine: SQLEngine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(select(effects).order_by(effects.c.seq)).mappings()]


@dataclass
class Call:
    kind: OperationKind
    instance_id: str
    binding_id: str | None
    operation: str
    attempt: int
    step: int
    parameters: dict[str, Any]
    plan_id: str | None = None
    predecessor_binding_id: str | None = None
    #: The step progress found in the record's details when the step was called.
    seen_progress: dict[str, int] = field(default_factory=dict)


@dataclass
class RecordingBroker(ServiceBroker):
    """A configurable test broker (see the module docstring)."""

    async_kinds: frozenset[OperationKind] = frozenset()
    steps: dict[OperationKind, int] = field(default_factory=dict)
    #: kind -> "failed" | "transient" | "bad_request" | "unavailable"
    failures: dict[OperationKind, str] = field(default_factory=dict)
    #: kind -> how many calls the failure applies to (all when absent)
    fail_times: dict[OperationKind, int] = field(default_factory=dict)
    retry_after: float = 0.0
    step_sleep: float = 0.0
    effects_url: str | None = None
    requires_app: bool = False
    rejected_label: str = "reject-me"

    def __post_init__(self) -> None:
        self.catalog = make_catalog()
        self.calls: list[Call] = []
        self.prefetched: list[list[str]] = []
        self._lock = threading.Lock()
        self._effects = effects_engine(self.effects_url) if self.effects_url else None
        self.validations: list[OperationKind] = []

    # -- configuration --------------------------------------------------------------------

    def is_async(self, kind: OperationKind, plan: Plan, accepts_incomplete: bool) -> bool:
        return kind in self.async_kinds

    def validate_provision(self, request: ProvisionRequest, plan: Plan, parameters: dict[str, Any]) -> None:
        self.validations.append(OperationKind.PROVISION)
        if parameters.get("label") == self.rejected_label:
            raise BadRequest("label 'reject-me' is rejected by the broker")
        if parameters.get("label") == "explode":
            raise RuntimeError(f"the check broke, {SECRET_MARK}in-the-message")

    def validate_update(
        self, request: UpdateRequest, instance: InstanceRecord, plan: Plan, parameters: dict[str, Any]
    ) -> None:
        self.validations.append(OperationKind.UPDATE)
        if parameters.get("label") == self.rejected_label:
            raise BadRequest("label 'reject-me' is rejected by the broker")

    def validate_bind(
        self, request: BindRequest, instance: InstanceRecord, plan: Plan, parameters: dict[str, Any]
    ) -> None:
        self.validations.append(OperationKind.BIND)

    # -- steps ----------------------------------------------------------------------------

    def provision(self, op: InstanceOperation) -> Done | InProgress:
        return self._instance_step(op)

    def update(self, op: InstanceOperation) -> Done | InProgress:
        return self._instance_step(op)

    def deprovision(self, op: InstanceOperation) -> Done | InProgress:
        return self._instance_step(op)

    def bind(self, op: BindingOperation) -> Bound | InProgress:
        step = self._step(op, op.binding.details, op.binding.id, None)
        if step < self.steps.get(op.kind, 1):
            return InProgress(description=f"bind step {step}", retry_after=self.retry_after)
        return Bound(
            credentials={"username": f"u-{op.binding.id}", "password": f"{SECRET_MARK}{op.binding.id}"},
            endpoints=(Endpoint(host="db.example", ports=("5432",)),),
            description="bound",
        )

    def unbind(self, op: BindingOperation) -> Done | InProgress:
        step = self._step(op, op.binding.details, op.binding.id, None)
        if step < self.steps.get(op.kind, 1):
            return InProgress(description=f"unbind step {step}", retry_after=self.retry_after)
        return Done(description="unbound")

    def prefetch(self, operations: Any) -> None:
        with self._lock:
            self.prefetched.append([op.id for op in operations])

    def _instance_step(self, op: InstanceOperation) -> Done | InProgress:
        details = op.instance.details
        details["admin_password"] = f"{SECRET_MARK}{op.instance.id}"
        step = self._step(op, details, None, op.plan_id)
        if step < self.steps.get(op.kind, 1):
            return InProgress(description=f"{op.kind} step {step}", retry_after=self.retry_after)
        return Done(
            description=f"{op.kind} done",
            dashboard_url=f"https://dashboard.example/{op.instance.id}",
            metadata=InstanceMetadata(labels={"size": str(op.parameters.get("size", ""))}),
        )

    def _step(
        self,
        op: InstanceOperation | BindingOperation,
        details: dict[str, Any],
        binding_id: str | None,
        plan_id: str | None,
    ) -> int:
        progress = details.setdefault("progress", {})
        step = int(progress.get(op.id, 0)) + 1
        call = Call(
            kind=op.kind,
            instance_id=op.instance.id,
            binding_id=binding_id,
            operation=op.id,
            attempt=op.attempt,
            step=step,
            parameters=dict(op.parameters),
            plan_id=plan_id,
            predecessor_binding_id=op.binding.predecessor_binding_id
            if isinstance(op, BindingOperation)
            else None,
            seen_progress=dict(progress),
        )
        with self._lock:
            self.calls.append(call)
        self._record("enter", call)
        failure = self.failures.get(op.kind)
        limit = self.fail_times.get(op.kind)
        if limit is not None and len(self.calls_of(op.kind)) > limit:
            failure = None
        if failure == "failed":
            raise OperationFailed(
                "the test broker was told to fail", instance_usable=False, update_repeatable=True
            )
        if failure == "transient":
            raise RuntimeError(f"transient failure with {SECRET_MARK}in-the-message")
        if failure == "bad_request":
            raise BadRequest("the test broker rejects this")
        if failure == "unavailable":
            raise _Unavailable("the cloud is away")
        if self.step_sleep:
            time.sleep(self.step_sleep)
        progress[op.id] = step
        self._record("effect", call)
        return step

    def _record(self, phase: str, call: Call) -> None:
        if self._effects is None:
            return
        with self._effects.begin() as connection:
            connection.execute(
                insert(effects).values(
                    pid=os.getpid(),
                    phase=phase,
                    kind=str(call.kind),
                    instance_id=call.instance_id,
                    binding_id=call.binding_id,
                    operation=call.operation,
                    step=call.step,
                )
            )

    def calls_of(self, kind: OperationKind, instance_id: str | None = None) -> list[Call]:
        with self._lock:
            return [
                c
                for c in self.calls
                if c.kind == kind and (instance_id is None or c.instance_id == instance_id)
            ]


class _Unavailable(BrokerError):
    status = 503


EngineFactory = Callable[..., "tuple[Engine, RecordingBroker]"]


def new_id() -> str:
    return str(uuid.uuid4())


# -- request builders ------------------------------------------------------------------


CF_CONTEXT = Context(raw={"platform": "cloudfoundry", "organization_guid": "org", "space_guid": "space"})


def info(accepts: bool = True) -> RequestInfo:
    return RequestInfo(accepts_incomplete=accepts)


def provision_request(
    instance_id: str,
    *,
    plan_id: str = SMALL,
    service_id: str = SERVICE_ID,
    parameters: dict[str, Any] | None = None,
    accepts: bool = True,
    context: Context = CF_CONTEXT,
    maintenance: str | None = None,
) -> ProvisionRequest:
    return ProvisionRequest(
        instance_id=instance_id,
        service_id=service_id,
        plan_id=plan_id,
        organization_guid="org",
        space_guid="space",
        context=context,
        parameters=parameters,
        maintenance_info_version=maintenance,
        info=info(accepts),
    )


def update_request(
    instance_id: str,
    *,
    plan_id: str | None = None,
    parameters: dict[str, Any] | None = None,
    accepts: bool = True,
    context: Context | None = None,
    maintenance: str | None = None,
    service_id: str = SERVICE_ID,
) -> UpdateRequest:
    return UpdateRequest(
        instance_id=instance_id,
        service_id=service_id,
        plan_id=plan_id,
        parameters=parameters,
        context=context,
        maintenance_info_version=maintenance,
        info=info(accepts),
    )


def deprovision_request(
    instance_id: str, *, plan_id: str = SMALL, accepts: bool = True
) -> DeprovisionRequest:
    return DeprovisionRequest(
        instance_id=instance_id, service_id=SERVICE_ID, plan_id=plan_id, info=info(accepts)
    )


def bind_request(
    instance_id: str,
    binding_id: str,
    *,
    parameters: dict[str, Any] | None = None,
    accepts: bool = True,
    app_guid: str | None = "app-1",
    predecessor: str | None = None,
    plan_id: str = SMALL,
) -> BindRequest:
    return BindRequest(
        instance_id=instance_id,
        binding_id=binding_id,
        service_id=SERVICE_ID,
        plan_id=plan_id,
        parameters=parameters,
        bind_resource={"app_guid": app_guid} if app_guid else None,
        predecessor_binding_id=predecessor,
        info=info(accepts),
    )


def unbind_request(instance_id: str, binding_id: str, *, accepts: bool = True) -> UnbindRequest:
    return UnbindRequest(
        instance_id=instance_id,
        binding_id=binding_id,
        service_id=SERVICE_ID,
        plan_id=SMALL,
        info=info(accepts),
    )


def last_op(
    instance_id: str, binding_id: str | None = None, operation: str | None = None
) -> LastOperationRequest:
    return LastOperationRequest(instance_id=instance_id, binding_id=binding_id, operation=operation)


def fetch_instance(instance_id: str) -> FetchInstanceRequest:
    return FetchInstanceRequest(instance_id=instance_id)


def fetch_binding(instance_id: str, binding_id: str) -> FetchBindingRequest:
    return FetchBindingRequest(instance_id=instance_id, binding_id=binding_id)


def db_snapshot(engine: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the store's tables, raw: equal snapshots mean nothing changed."""
    from openbroker_aliyun.store.tables import bindings, instances, operations

    out = {}
    with engine.store.engine.connect() as connection:
        for table in (instances, bindings, operations):
            rows = connection.execute(select(table)).all()
            out[table.name] = sorted(tuple(row) for row in rows)
    return out


def drive_until_settled(engine: Any, *, rounds: int = 50) -> None:
    """Step due operations until none is left due (bounded)."""
    for _ in range(rounds):
        if engine.drive_once() == 0:
            return
    raise AssertionError(f"operations still due after {rounds} rounds")
