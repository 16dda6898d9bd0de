"""Bind, unbind and fetch of service bindings: the OSB decisions.

As for instances: stateless checks first, the broker's validation only when a new
operation is to be recorded, the decision in one transaction that locks the instance row
(then the binding row). Bindings of one instance may be created in parallel; a binding
cannot be created or deleted while the instance itself is being created, updated or
deleted (422 ``ConcurrencyError``).

Decisions where the spec leaves a choice: bind to an unknown or deleted instance is 404
(as Cloud Foundry's Go broker library answers); bind to an instance whose provision
failed is 400; a binding whose bind failed may be bound again with the same id.
"""

from __future__ import annotations

from copy import deepcopy
from datetime import datetime
from functools import partial
from typing import Any

from openbroker_aliyun.catalog.model import Plan
from openbroker_aliyun.catalog.params import validate_parameters
from openbroker_aliyun.domain import (
    BindingRecord,
    BindingResponse,
    BindingView,
    BindRequest,
    DeleteResponse,
    FetchBindingRequest,
    OperationKind,
    OperationState,
    UnbindRequest,
)
from openbroker_aliyun.engine.binding_result import view_from_json
from openbroker_aliyun.engine.decisions import (
    DECISION_ROUNDS,
    NEEDS_VALIDATION,
    NeedsValidation,
    broker_check,
    in_flight_answer,
)
from openbroker_aliyun.engine.inline import run_inline
from openbroker_aliyun.engine.leases import utcnow
from openbroker_aliyun.engine.logfields import log, operation_fields
from openbroker_aliyun.engine.parts import EngineParts, new_operation
from openbroker_aliyun.engine.resolve import require
from openbroker_aliyun.engine.sameness import same_json
from openbroker_aliyun.engine.stepping import Started, Stepper
from openbroker_aliyun.errors import (
    AsyncRequired,
    BadRequest,
    ConcurrencyError,
    Conflict,
    Gone,
    NotFound,
    RequiresApp,
)
from openbroker_aliyun.store import (
    BindingStatus,
    InstanceStatus,
    StoredBinding,
    StoredInstance,
    StoredOperation,
    Transaction,
)


class BindingRequests:
    def __init__(self, parts: EngineParts, stepper: Stepper) -> None:
        self._parts = parts
        self._stepper = stepper

    # -- bind ----------------------------------------------------------------------------

    def bind(self, request: BindRequest) -> BindingResponse:
        parts = self._parts
        require(
            instance_id=request.instance_id,
            binding_id=request.binding_id,
            service_id=request.service_id,
            plan_id=request.plan_id,
        )
        service, request_plan = parts.catalog.resolve(request.service_id, request.plan_id)
        instance = parts.store.read(lambda reader: reader.instance(request.instance_id))
        if instance is None or instance.status == InstanceStatus.DELETED:
            raise NotFound(f"Instance {request.instance_id} does not exist.")
        if instance.record.service_id != request.service_id:
            raise BadRequest(
                f"service_id {request.service_id} does not match instance {request.instance_id}, "
                f"an instance of service {instance.record.service_id}."
            )
        # The instance's plan decides (the request's may lag behind a plan change).
        plan = parts.catalog.plan(instance.record.plan_id) or request_plan
        if not service.is_bindable(plan):
            raise BadRequest(f"Plan {plan.name!r} of service {service.name!r} is not bindable.")
        parameters = validate_parameters(plan, "bind", request.parameters)
        if parts.broker.requires_app and not request.effective_app_guid:
            raise RequiresApp("This service binds to applications only: bind_resource.app_guid is required.")
        if request.predecessor_binding_id is not None and not plan.binding_rotatable:
            raise BadRequest(
                f"Plan {plan.name!r} does not support binding rotation (predecessor_binding_id)."
            )
        accepts = request.info.accepts_incomplete
        is_async = parts.broker.is_async(OperationKind.BIND, plan, accepts)
        if is_async and not accepts:
            raise AsyncRequired("Binding this plan takes time: retry with accepts_incomplete=true.")
        validated = False
        for _round in range(DECISION_ROUNDS):
            decide = partial(
                self._decide_bind,
                request=request,
                plan=plan,
                parameters=parameters,
                is_async=is_async,
                validated=validated,
            )
            decision = parts.store.transact(decide)
            if isinstance(decision, BindingResponse):
                return decision
            if isinstance(decision, NeedsValidation):
                broker_check(parts.broker.validate_bind, request, instance.record, plan, dict(parameters))
                validated = True
                continue
            if is_async:
                self._announce(decision.op)
                return BindingResponse(status=202, operation=decision.op.id)
            result = run_inline(parts, self._stepper, decision, accepts)
            if not result.finished or result.outcome.bound is None:
                return BindingResponse(status=202, operation=decision.op.id)
            return BindingResponse(status=201, binding=view_from_json(result.outcome.bound, parameters))
        raise ConcurrencyError(f"Binding {request.binding_id} is changing; retry later.")

    def _decide_bind(
        self,
        tx: Transaction,
        request: BindRequest,
        plan: Plan,
        parameters: dict[str, Any],
        is_async: bool,
        validated: bool,
    ) -> BindingResponse | NeedsValidation | Started:
        instance = self._lock_instance_for_binding(tx, request.instance_id)
        binding_id = request.binding_id
        what = f"Binding {binding_id}"
        existing = tx.binding(request.instance_id, binding_id, lock=True)
        if existing is not None and existing.status not in (BindingStatus.DELETED, BindingStatus.FAILED):
            if existing.status == BindingStatus.UNBINDING:
                raise ConcurrencyError(f"{what} is being deleted; retry once the delete has finished.")
            record = existing.record
            same = (
                record.service_id == request.service_id
                and same_json(record.parameters, parameters)
                and record.app_guid == request.effective_app_guid
                and record.predecessor_binding_id == request.predecessor_binding_id
            )
            if not same:
                raise Conflict(f"{what} already exists with different parameters.")
            if existing.status == BindingStatus.BINDING:
                op = tx.operation(existing.operation_id) if existing.operation_id else None
                token = in_flight_answer(op, request.info.accepts_incomplete, f"{what}'s creation")
                return BindingResponse(status=202, operation=token)
            return BindingResponse(
                status=200, binding=view_from_json(existing.result or {}, record.parameters)
            )
        now = utcnow()
        if request.predecessor_binding_id is not None:
            self._check_predecessor(tx, request.instance_id, request.predecessor_binding_id, now)
        if not validated:
            return NEEDS_VALIDATION
        parts = self._parts
        op = new_operation(
            kind=OperationKind.BIND,
            instance_id=request.instance_id,
            binding_id=binding_id,
            plan_id=plan.id,
            now=now,
            info=request.info,
            parameters=parameters,
            context=request.context,
            inline_owner=None if is_async else parts.leases.owner,
            lease_seconds=parts.settings.lease_seconds,
        )
        stored = StoredBinding(
            record=BindingRecord(
                id=binding_id,
                instance_id=request.instance_id,
                service_id=request.service_id,
                plan_id=plan.id,
                parameters=parameters,
                context=request.context,
                bind_resource=dict(request.bind_resource or {}),
                app_guid=request.effective_app_guid,
                predecessor_binding_id=request.predecessor_binding_id,
                # A failed bind's progress is kept for the new attempt, as for instances.
                details=dict(existing.record.details)
                if existing is not None and existing.status == BindingStatus.FAILED
                else {},
            ),
            status=BindingStatus.BINDING,
            operation_id=op.id,
            created_at=now,
            updated_at=now,
        )
        if existing is None:
            tx.add_binding(stored)
        else:
            tx.save_binding(stored)
        tx.add_operation(op)
        prior = None if existing is None else deepcopy(existing)
        return Started(op=op, instance=instance, binding=stored, prior_binding=prior)

    @staticmethod
    def _check_predecessor(tx: Transaction, instance_id: str, predecessor_id: str, now: datetime) -> None:
        predecessor = tx.binding(instance_id, predecessor_id)
        if predecessor is None or predecessor.status != BindingStatus.BOUND:
            raise BadRequest(
                f"predecessor_binding_id {predecessor_id!r} is not an existing, "
                f"undeleted binding of instance {instance_id}."
            )
        expires_at = view_from_json(predecessor.result or {}, None).expires_at
        if expires_at is not None and expires_at <= now:
            raise BadRequest(
                f"predecessor_binding_id {predecessor_id!r} has expired; create a new binding instead."
            )

    @staticmethod
    def _lock_instance_for_binding(tx: Transaction, instance_id: str) -> StoredInstance:
        what = f"Instance {instance_id}"
        instance = tx.instance(instance_id, lock=True)
        if instance is None or instance.status == InstanceStatus.DELETED:
            raise NotFound(f"{what} does not exist.")
        if instance.status == InstanceStatus.PROVISIONING:
            raise ConcurrencyError(f"{what} is still being provisioned; bind once it is ready.")
        if instance.status == InstanceStatus.FAILED:
            raise BadRequest(f"{what} failed to provision and cannot be bound.")
        if instance.status == InstanceStatus.DEPROVISIONING:
            raise ConcurrencyError(f"{what} is being deleted.")
        current = tx.operation(instance.operation_id) if instance.operation_id else None
        if current is not None and current.in_progress:
            raise ConcurrencyError(f"{what} is being updated; retry once the update has finished.")
        return instance

    # -- unbind --------------------------------------------------------------------------

    def unbind(self, request: UnbindRequest) -> DeleteResponse:
        parts = self._parts
        require(
            instance_id=request.instance_id,
            binding_id=request.binding_id,
            service_id=request.service_id,
            plan_id=request.plan_id,
        )
        binding = parts.store.read(lambda reader: reader.binding(request.instance_id, request.binding_id))
        if binding is None or binding.status == BindingStatus.DELETED:
            raise Gone(f"Binding {request.binding_id} of instance {request.instance_id} does not exist.")
        plan = parts.catalog.plan_or_stub(binding.record.plan_id)
        accepts = request.info.accepts_incomplete
        is_async = parts.broker.is_async(OperationKind.UNBIND, plan, accepts)
        if is_async and not accepts:
            raise AsyncRequired("Deleting this binding takes time: retry with accepts_incomplete=true.")
        decision = parts.store.transact(lambda tx: self._decide_unbind(tx, request, is_async))
        if isinstance(decision, DeleteResponse):
            return decision
        if is_async:
            self._announce(decision.op)
            return DeleteResponse(status=202, operation=decision.op.id)
        result = run_inline(parts, self._stepper, decision, accepts)
        return (
            DeleteResponse(status=200)
            if result.finished
            else DeleteResponse(status=202, operation=decision.op.id)
        )

    def _decide_unbind(
        self, tx: Transaction, request: UnbindRequest, is_async: bool
    ) -> DeleteResponse | Started:
        what = f"Binding {request.binding_id}"
        gone = Gone(f"{what} of instance {request.instance_id} does not exist.")
        instance = tx.instance(request.instance_id, lock=True)
        if instance is None:
            raise gone
        existing = tx.binding(request.instance_id, request.binding_id, lock=True)
        if existing is None or existing.status == BindingStatus.DELETED:
            raise gone
        if instance.status == InstanceStatus.DEPROVISIONING:
            raise ConcurrencyError(f"Instance {request.instance_id} is being deleted.")
        instance_op = tx.operation(instance.operation_id) if instance.operation_id else None
        if instance_op is not None and instance_op.in_progress:
            raise ConcurrencyError(
                f"Instance {request.instance_id} is being updated; retry once it has finished."
            )
        current = tx.operation(existing.operation_id, lock=True) if existing.operation_id else None
        now = utcnow()
        superseded: StoredOperation | None = None
        if current is not None and current.in_progress:
            if current.kind == OperationKind.UNBIND:
                token = in_flight_answer(current, request.info.accepts_incomplete, f"{what}'s delete")
                return DeleteResponse(status=202, operation=token)
            if not is_async and current.lease_live(now):
                raise ConcurrencyError(f"{what} is being created right now; retry in a moment.")
            superseded = current
        if superseded is not None:
            # A delete during a create halts the create, as for instances.
            superseded.state = OperationState.FAILED
            superseded.description = "Superseded by an unbind request."
            superseded.finished_at = now
            superseded.updated_at = now
            tx.save_operation(superseded)
        parts = self._parts
        prior = deepcopy(existing)
        op = new_operation(
            kind=OperationKind.UNBIND,
            instance_id=request.instance_id,
            binding_id=request.binding_id,
            plan_id=existing.record.plan_id,
            now=now,
            info=request.info,
            inline_owner=None if is_async else parts.leases.owner,
            lease_seconds=parts.settings.lease_seconds,
        )
        existing.status = BindingStatus.UNBINDING
        existing.operation_id = op.id
        existing.updated_at = now
        tx.add_operation(op)
        tx.save_binding(existing)
        return Started(op=op, instance=instance, binding=existing, prior_binding=prior)

    # -- fetch ---------------------------------------------------------------------------

    def fetch(self, request: FetchBindingRequest) -> BindingView:
        require(instance_id=request.instance_id, binding_id=request.binding_id)

        # One read-only statement; the binding's details are not read (nor decrypted).
        found = self._parts.store.read(
            lambda reader: reader.binding_snapshot(request.instance_id, request.binding_id)
        )
        if found is None or found.status not in (BindingStatus.BOUND, BindingStatus.UNBINDING):
            raise NotFound(
                f"Binding {request.binding_id} of instance {request.instance_id} does not exist "
                "(or is still being created)."
            )
        return view_from_json(found.result or {}, dict(found.parameters))

    def _announce(self, op: StoredOperation) -> None:
        log.info(
            "operation started",
            extra=operation_fields(op, outcome="in progress"),
        )
        self._parts.wake()
