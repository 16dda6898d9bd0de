"""Provision, update, deprovision and fetch of service instances: the OSB decisions.

Each request is checked without touching state first (ids, catalog, parameters,
maintenance_info, asynchrony), then decided and recorded in one transaction that locks
the instance row. The broker's own validation runs between the two, outside any
transaction (it may call the cloud), and only when a new operation is to be recorded: a
repeated request is answered from the record. No 4xx changes state.

Decisions where the spec leaves a choice (documented in docs and the report):
update of an unknown instance is 404; a provision repeated while a delete runs is 422
``ConcurrencyError``; a request repeated while its operation is in flight gets 202 with
the same operation when it accepts incomplete operations, 422 ``ConcurrencyError`` when
not (a 202 would then be invalid).
"""

from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass
from functools import partial
from typing import Any

from openbroker_aliyun.catalog.model import Plan, Service
from openbroker_aliyun.catalog.params import validate_parameters
from openbroker_aliyun.domain import (
    DeleteResponse,
    DeprovisionRequest,
    FetchInstanceRequest,
    InstanceRecord,
    InstanceResponse,
    InstanceView,
    OperationKind,
    OperationState,
    ProvisionRequest,
    UpdateRequest,
)
from openbroker_aliyun.engine.decisions import (
    DECISION_ROUNDS,
    NEEDS_VALIDATION,
    NeedsValidation,
    broker_check,
    in_flight_answer,
)
from openbroker_aliyun.engine.inline import run_inline
from openbroker_aliyun.engine.leases import utcnow
from openbroker_aliyun.engine.logfields import fields, log
from openbroker_aliyun.engine.parts import EngineParts, new_operation
from openbroker_aliyun.engine.resolve import check_maintenance_info, require
from openbroker_aliyun.engine.sameness import changed_keys, same_json
from openbroker_aliyun.engine.stepping import Started, Stepper
from openbroker_aliyun.errors import (
    AsyncRequired,
    BadRequest,
    ConcurrencyError,
    Conflict,
    Gone,
    NotFound,
    UnprocessableEntity,
)
from openbroker_aliyun.store import InstanceStatus, StoredInstance, StoredOperation, Transaction


@dataclass(frozen=True)
class _UpdateChange:
    plan: Plan
    parameters: dict[str, Any]
    maintenance_info_version: str | None
    context_changed: bool
    effective: bool


class InstanceRequests:
    def __init__(self, parts: EngineParts, stepper: Stepper) -> None:
        self._parts = parts
        self._stepper = stepper

    # -- provision -----------------------------------------------------------------------

    def provision(self, request: ProvisionRequest) -> InstanceResponse:
        parts = self._parts
        require(instance_id=request.instance_id, service_id=request.service_id, plan_id=request.plan_id)
        _service, plan = parts.catalog.resolve(request.service_id, request.plan_id)
        parameters = validate_parameters(plan, "provision", request.parameters)
        check_maintenance_info(plan, request.maintenance_info_version)
        accepts = request.info.accepts_incomplete
        is_async = parts.broker.is_async(OperationKind.PROVISION, plan, accepts)
        if is_async and not accepts:
            raise AsyncRequired("Provisioning this plan takes time: retry with accepts_incomplete=true.")
        validated = False
        for _round in range(DECISION_ROUNDS):
            decide = partial(
                self._decide_provision,
                request=request,
                plan=plan,
                parameters=parameters,
                is_async=is_async,
                validated=validated,
            )
            decision = parts.store.transact(decide)
            if isinstance(decision, InstanceResponse):
                return decision
            if isinstance(decision, NeedsValidation):
                broker_check(parts.broker.validate_provision, request, plan, dict(parameters))
                validated = True
                continue
            return self._started_instance_op(decision, is_async, accepts, done_status=201)
        raise ConcurrencyError(f"Instance {request.instance_id} is changing; retry later.")

    def _decide_provision(
        self,
        tx: Transaction,
        request: ProvisionRequest,
        plan: Plan,
        parameters: dict[str, Any],
        is_async: bool,
        validated: bool,
    ) -> InstanceResponse | NeedsValidation | Started:
        existing = tx.instance(request.instance_id, lock=True)
        if existing is not None and existing.status not in (InstanceStatus.DELETED, InstanceStatus.FAILED):
            record = existing.record
            same = (
                record.service_id == request.service_id
                and record.plan_id == request.plan_id
                and same_json(record.parameters, parameters)
            )
            what = f"Instance {request.instance_id}"
            if existing.status == InstanceStatus.DEPROVISIONING:
                raise ConcurrencyError(f"{what} is being deleted; retry once the delete has finished.")
            if not same:
                raise Conflict(f"{what} already exists with a different service, plan or parameters.")
            if existing.status == InstanceStatus.PROVISIONING:
                op = tx.operation(existing.operation_id) if existing.operation_id else None
                token = in_flight_answer(op, request.info.accepts_incomplete, f"{what}'s provision")
                return InstanceResponse(status=202, operation=token, dashboard_url=record.dashboard_url)
            return InstanceResponse(status=200, dashboard_url=record.dashboard_url, metadata=record.metadata)
        if not validated:
            return NEEDS_VALIDATION
        now = utcnow()
        parts = self._parts
        op = new_operation(
            kind=OperationKind.PROVISION,
            instance_id=request.instance_id,
            binding_id=None,
            plan_id=plan.id,
            now=now,
            info=request.info,
            parameters=parameters,
            context=request.context,
            maintenance_info_version=request.maintenance_info_version,
            inline_owner=None if is_async else parts.leases.owner,
            lease_seconds=parts.settings.lease_seconds,
        )
        stored = StoredInstance(
            record=InstanceRecord(
                id=request.instance_id,
                service_id=request.service_id,
                plan_id=plan.id,
                parameters=parameters,
                context=request.context,
                organization_guid=request.organization_guid,
                space_guid=request.space_guid,
                maintenance_info_version=plan.maintenance_info.version if plan.maintenance_info else None,
                # After a failed provision the broker's progress is kept: the new attempt
                # can find (and reuse or clean) what the failed one made.
                details=dict(existing.record.details)
                if existing is not None and existing.status == InstanceStatus.FAILED
                else {},
            ),
            status=InstanceStatus.PROVISIONING,
            operation_id=op.id,
            created_at=now,
            updated_at=now,
        )
        if existing is None:
            tx.add_instance(stored)
        else:
            tx.save_instance(stored)
        tx.add_operation(op)
        return Started(op=op, instance=stored, prior_instance=existing)

    # -- update --------------------------------------------------------------------------

    def update(self, request: UpdateRequest) -> InstanceResponse:
        parts = self._parts
        require(instance_id=request.instance_id, service_id=request.service_id)
        service = parts.catalog.service(request.service_id)
        if request.plan_id is not None:
            require(plan_id=request.plan_id)
            parts.catalog.resolve(request.service_id, request.plan_id)
        accepts = request.info.accepts_incomplete
        validated = False
        for _round in range(DECISION_ROUNDS):
            current = parts.store.read(lambda reader: reader.instance(request.instance_id))
            change = self._update_change(request, service, current)
            decide_update = partial(
                self._decide_update, request=request, service=service, change=change, validated=validated
            )
            decision = parts.store.transact(decide_update)
            if isinstance(decision, InstanceResponse):
                return decision
            if isinstance(decision, NeedsValidation):
                assert current is not None  # the decision found the instance
                broker_check(
                    parts.broker.validate_update,
                    request,
                    current.record,
                    change.plan,
                    dict(change.parameters),
                )
                validated = True
                continue
            is_async = parts.broker.is_async(OperationKind.UPDATE, change.plan, accepts)
            return self._started_instance_op(decision, is_async, accepts, done_status=200)
        raise ConcurrencyError(f"Instance {request.instance_id} is changing; retry later.")

    def _update_change(
        self, request: UpdateRequest, service: Service, current: StoredInstance | None
    ) -> _UpdateChange:
        """What the update asks for, checked without state changes (4xx raised here)."""
        parts = self._parts
        instance_id = request.instance_id
        if current is None or current.status == InstanceStatus.DELETED:
            raise NotFound(f"Instance {instance_id} does not exist.")
        record = current.record
        if record.service_id != request.service_id:
            raise BadRequest(
                f"service_id {request.service_id} does not match instance {instance_id}, "
                f"an instance of service {record.service_id}."
            )
        current_plan = parts.catalog.plan_or_stub(record.plan_id)
        plan_change = request.plan_id is not None and request.plan_id != record.plan_id
        if plan_change and not service.is_plan_updateable(current_plan):
            raise UnprocessableEntity(
                f"The plan of instance {instance_id} cannot be changed: "
                f"plan {current_plan.name!r} is not plan_updateable."
            )
        target = current_plan
        if request.plan_id is not None and plan_change:
            target = parts.catalog.resolve(request.service_id, request.plan_id)[1]
        parameters = validate_parameters(target, "update", request.parameters)
        check_maintenance_info(target, request.maintenance_info_version)
        accepts = request.info.accepts_incomplete
        maintenance = request.maintenance_info_version
        if maintenance is None and plan_change:
            # A plan change moves the instance to the new plan's maintenance version.
            maintenance = target.maintenance_info.version if target.maintenance_info else None
        effective = (
            plan_change
            or bool(changed_keys(record.parameters, parameters))
            or (
                request.maintenance_info_version is not None
                and maintenance != record.maintenance_info_version
            )
        )
        context_changed = request.context is not None and not same_json(
            dict(request.context.raw), dict(record.context.raw)
        )
        if effective and parts.broker.is_async(OperationKind.UPDATE, target, accepts) and not accepts:
            raise AsyncRequired("Updating this instance takes time: retry with accepts_incomplete=true.")
        return _UpdateChange(target, parameters, maintenance, context_changed, effective)

    def _decide_update(
        self,
        tx: Transaction,
        request: UpdateRequest,
        service: Service,
        change: _UpdateChange,
        validated: bool,
    ) -> InstanceResponse | NeedsValidation | Started:
        instance_id = request.instance_id
        what = f"Instance {instance_id}"
        existing = tx.instance(instance_id, lock=True)
        if existing is None or existing.status == InstanceStatus.DELETED:
            raise NotFound(f"{what} does not exist.")
        if existing.status == InstanceStatus.PROVISIONING:
            raise ConcurrencyError(f"{what} is still being provisioned; retry once it is ready.")
        if existing.status == InstanceStatus.DEPROVISIONING:
            raise ConcurrencyError(f"{what} is being deleted.")
        if existing.status == InstanceStatus.FAILED:
            raise UnprocessableEntity(
                f"{what} failed to provision and cannot be updated; delete it and create it again."
            )
        current_op = tx.operation(existing.operation_id) if existing.operation_id else None
        if current_op is not None and current_op.in_progress:
            same = (
                current_op.kind == OperationKind.UPDATE
                and current_op.plan_id == change.plan.id
                and same_json(current_op.parameters, change.parameters)
                and current_op.maintenance_info_version == change.maintenance_info_version
            )
            if not same:
                raise ConcurrencyError(
                    f"Another update of {what} is in progress; retry once it has finished."
                )
            token = in_flight_answer(current_op, request.info.accepts_incomplete, f"{what}'s update")
            return InstanceResponse(status=202, operation=token, dashboard_url=existing.record.dashboard_url)
        busy = tx.busy_binding_ids(instance_id)
        if busy:
            raise ConcurrencyError(
                f"A binding of {what} is being created or deleted; retry once it has finished."
            )
        if not change.effective:
            if change.context_changed and service.allow_context_updates and request.context is not None:
                # A context-only update (names, annotations): recorded, no broker call.
                existing.record.context = request.context
                existing.updated_at = utcnow()
                tx.save_instance(existing)
            return InstanceResponse(status=200)
        if not validated:
            return NEEDS_VALIDATION
        parts = self._parts
        is_async = parts.broker.is_async(OperationKind.UPDATE, change.plan, request.info.accepts_incomplete)
        prior = _snapshot(existing)
        op = new_operation(
            kind=OperationKind.UPDATE,
            instance_id=instance_id,
            binding_id=None,
            plan_id=change.plan.id,
            previous_plan_id=existing.record.plan_id,
            now=utcnow(),
            info=request.info,
            parameters=change.parameters,
            context=request.context,
            maintenance_info_version=change.maintenance_info_version,
            inline_owner=None if is_async else parts.leases.owner,
            lease_seconds=parts.settings.lease_seconds,
        )
        existing.operation_id = op.id
        existing.updated_at = op.started_at
        tx.add_operation(op)
        tx.save_instance(existing)
        return Started(op=op, instance=existing, prior_instance=prior)

    # -- deprovision ---------------------------------------------------------------------

    def deprovision(self, request: DeprovisionRequest) -> DeleteResponse:
        parts = self._parts
        require(instance_id=request.instance_id, service_id=request.service_id, plan_id=request.plan_id)
        current = parts.store.read(lambda reader: reader.instance(request.instance_id))
        if current is None or current.status == InstanceStatus.DELETED:
            raise Gone(f"Instance {request.instance_id} does not exist.")
        # Not checked against the catalog: instances of a retired plan stay deletable.
        plan = parts.catalog.plan_or_stub(current.record.plan_id)
        accepts = request.info.accepts_incomplete
        is_async = parts.broker.is_async(OperationKind.DEPROVISION, plan, accepts)
        if is_async and not accepts:
            raise AsyncRequired("Deleting this instance takes time: retry with accepts_incomplete=true.")
        decision = parts.store.transact(lambda tx: self._decide_deprovision(tx, request, is_async))
        if isinstance(decision, DeleteResponse):
            return decision
        if is_async:
            self._announce(decision)
            return DeleteResponse(status=202, operation=decision.op.id)
        result = run_inline(parts, self._stepper, decision, accepts)
        if not result.finished:
            return DeleteResponse(status=202, operation=decision.op.id)
        return DeleteResponse(status=200)

    def _decide_deprovision(
        self, tx: Transaction, request: DeprovisionRequest, is_async: bool
    ) -> DeleteResponse | Started:
        instance_id = request.instance_id
        what = f"Instance {instance_id}"
        existing = tx.instance(instance_id, lock=True)
        if existing is None or existing.status == InstanceStatus.DELETED:
            raise Gone(f"{what} does not exist.")
        current_op = tx.operation(existing.operation_id, lock=True) if existing.operation_id else None
        now = utcnow()
        superseded: StoredOperation | None = None
        if current_op is not None and current_op.in_progress:
            if current_op.kind == OperationKind.DEPROVISION:
                token = in_flight_answer(current_op, request.info.accepts_incomplete, f"{what}'s delete")
                return DeleteResponse(status=202, operation=token)
            if current_op.kind != OperationKind.PROVISION:
                raise ConcurrencyError(f"An update of {what} is in progress; retry once it has finished.")
            if not is_async and current_op.lease_live(now):
                # A synchronous delete cannot wait for the provision's step in flight.
                raise ConcurrencyError(f"{what} is being provisioned right now; retry in a moment.")
            superseded = current_op
        if tx.busy_binding_ids(instance_id):
            raise ConcurrencyError(
                f"A binding of {what} is being created or deleted; retry once it has finished."
            )
        if superseded is not None:
            # A delete during a create halts the create (OSB): the provision ends failed,
            # its lease stays with whoever is stepping it, and the driver steps the
            # delete only once that lease is released.
            superseded.state = OperationState.FAILED
            superseded.description = "Superseded by a deprovision request."
            superseded.finished_at = now
            superseded.updated_at = now
            tx.save_operation(superseded)
            log.info(
                "provision superseded by deprovision",
                extra=fields(
                    instance_id=instance_id, operation=superseded.id, kind="provision", outcome="failed"
                ),
            )
        parts = self._parts
        prior = _snapshot(existing)
        op = new_operation(
            kind=OperationKind.DEPROVISION,
            instance_id=instance_id,
            binding_id=None,
            plan_id=existing.record.plan_id,
            now=now,
            info=request.info,
            inline_owner=None if is_async else parts.leases.owner,
            lease_seconds=parts.settings.lease_seconds,
        )
        existing.status = InstanceStatus.DEPROVISIONING
        existing.operation_id = op.id
        existing.updated_at = now
        tx.add_operation(op)
        tx.save_instance(existing)
        return Started(op=op, instance=existing, prior_instance=prior)

    # -- fetch ---------------------------------------------------------------------------

    def fetch(self, request: FetchInstanceRequest) -> InstanceView:
        require(instance_id=request.instance_id)
        what = f"Instance {request.instance_id}"
        # One read-only statement: the visible columns and the current operation's state.
        found = self._parts.store.read(lambda reader: reader.instance_snapshot(request.instance_id))
        if found is None or found.status in (
            InstanceStatus.DELETED,
            InstanceStatus.FAILED,
            InstanceStatus.PROVISIONING,
        ):
            raise NotFound(f"{what} does not exist (or is still being provisioned).")
        if (
            found.operation_state == OperationState.IN_PROGRESS
            and found.operation_kind == OperationKind.UPDATE
        ):
            raise ConcurrencyError(f"{what} is being updated; retry once the update has finished.")
        return InstanceView(
            service_id=found.service_id,
            plan_id=found.plan_id,
            dashboard_url=found.dashboard_url,
            parameters=dict(found.parameters),
            maintenance_info_version=found.maintenance_info_version,
            metadata=found.metadata,
        )

    # -- shared --------------------------------------------------------------------------

    def _started_instance_op(
        self, started: Started, is_async: bool, accepts: bool, *, done_status: int
    ) -> InstanceResponse:
        """202 for an async operation; else run its step now and answer ``done_status``."""
        record = started.instance.record
        if is_async:
            self._announce(started)
            return InstanceResponse(status=202, operation=started.op.id, dashboard_url=record.dashboard_url)
        result = run_inline(self._parts, self._stepper, started, accepts)
        if not result.finished:
            return InstanceResponse(status=202, operation=started.op.id, dashboard_url=record.dashboard_url)
        done = result.outcome.result
        dashboard_url = getattr(done, "dashboard_url", None) or record.dashboard_url
        metadata = getattr(done, "metadata", None) or record.metadata
        return InstanceResponse(status=done_status, dashboard_url=dashboard_url, metadata=metadata)

    def _announce(self, started: Started) -> None:
        op = started.op
        log.info(
            "operation started",
            extra=fields(
                instance_id=op.instance_id, operation=op.id, kind=str(op.kind), outcome="in progress"
            ),
        )
        self._parts.wake()


def _snapshot(stored: StoredInstance) -> StoredInstance:
    """A copy of an instance as it was, to restore if an inline step fails."""
    return deepcopy(stored)
