"""Calling a broker step and recording what came of it.

Used both by the background driver and by requests that run a step inline (synchronous
operations). A step's outcome is recorded in one transaction that also releases the
operation's lease, and only if this process still holds that lease: a process that
lost its lease (it stalled past the expiry and another took over) records nothing.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable

from openbroker_aliyun.broker import Bound, Done, InProgress
from openbroker_aliyun.domain import (
    BindingOperation,
    Context,
    InstanceOperation,
    JSONDict,
    OperationKind,
    OperationState,
)
from openbroker_aliyun.engine.binding_result import bound_to_json
from openbroker_aliyun.engine.leases import utcnow
from openbroker_aliyun.engine.logfields import log, operation_fields, safe_error
from openbroker_aliyun.engine.parts import EngineParts, domain_operation
from openbroker_aliyun.engine.sameness import canonical
from openbroker_aliyun.errors import BrokerError, OperationFailed
from openbroker_aliyun.store import (
    BindingStatus,
    InstanceStatus,
    Reader,
    StoredBinding,
    StoredInstance,
    StoredOperation,
    StoreValueError,
    Transaction,
)


class Outcome(enum.Enum):
    DONE = "done"
    IN_PROGRESS = "in progress"
    #: The operation ends as failed (``OperationFailed``, a 4xx ``BrokerError``, a bug).
    FAILED = "failed"
    #: A transient error: retried with backoff until the operation's time runs out.
    ERROR = "error"


@dataclass(frozen=True)
class StepOutcome:
    kind: Outcome
    description: str | None = None
    retry_after: float | None = None
    result: Done | Bound | None = None
    bound: JSONDict | None = None
    instance_usable: bool | None = None
    update_repeatable: bool | None = None
    #: The exception the step raised, for a request that ran the step inline.
    error: BaseException | None = None


@dataclass
class StepContext:
    """An operation with the records its step works on, loaded fresh."""

    op: StoredOperation
    instance: StoredInstance
    binding: StoredBinding | None
    domain: InstanceOperation | BindingOperation
    #: The details as loaded, put back if the step leaves something that is not JSON.
    details_loaded: JSONDict = field(default_factory=dict)

    @property
    def details(self) -> JSONDict:
        return self.binding.record.details if self.binding is not None else self.instance.record.details


class Applied(enum.Enum):
    RECORDED = "recorded"
    #: The operation was superseded meanwhile (a delete during a create): only the
    #: details were recorded.
    SUPERSEDED = "superseded"
    #: This process no longer held the lease: nothing was recorded.
    LOST = "lost"


@dataclass(frozen=True)
class Started:
    """A new operation just recorded, with what it replaced (to roll an inline step back)."""

    op: StoredOperation
    instance: StoredInstance
    binding: StoredBinding | None = None
    prior_instance: StoredInstance | None = None
    prior_binding: StoredBinding | None = None


def load_in(tx: Reader, operation_id: str) -> StepContext | None:
    """The operation and its records, read in ``tx``; None when it is gone."""
    op = tx.operation(operation_id)
    if op is None:
        return None
    instance = tx.instance(op.instance_id)
    if instance is None:
        return None
    binding = tx.binding(op.instance_id, op.binding_id) if op.binding_id else None
    if op.binding_id and binding is None:
        return None
    context = StepContext(op, instance, binding, domain_operation(op, instance, binding))
    context.details_loaded = dict(context.details)
    return context


class Stepper:
    def __init__(self, parts: EngineParts) -> None:
        self._parts = parts

    # -- load and call -----------------------------------------------------------------

    def load(self, operation_id: str) -> StepContext | None:
        """The operation and its records, or None when it is gone."""
        return self._parts.store.read(lambda reader: load_in(reader, operation_id))

    def call(self, context: StepContext) -> StepOutcome:
        """Call the broker's step for this operation and classify what happened."""
        broker = self._parts.broker
        kind = context.op.kind
        steps: dict[OperationKind, Callable[[Any], Any]] = {
            OperationKind.PROVISION: broker.provision,
            OperationKind.UPDATE: broker.update,
            OperationKind.DEPROVISION: broker.deprovision,
            OperationKind.BIND: broker.bind,
            OperationKind.UNBIND: broker.unbind,
        }
        try:
            result = steps[kind](context.domain)
            outcome = self._classify(kind, result)
        except OperationFailed as failure:
            outcome = StepOutcome(
                Outcome.FAILED,
                description=failure.description,
                instance_usable=failure.instance_usable,
                update_repeatable=failure.update_repeatable,
                error=failure,
            )
        except BrokerError as error:
            # A 4xx is the broker saying "this cannot be done"; a 5xx may pass.
            final = error.status < 500
            outcome = StepOutcome(
                Outcome.FAILED if final else Outcome.ERROR, description=error.description, error=error
            )
        except Exception as error:
            outcome = StepOutcome(Outcome.ERROR, error=error)
        try:
            canonical(context.details)
        except (TypeError, ValueError):
            self._restore_details(context)
            outcome = StepOutcome(
                Outcome.FAILED,
                description="The broker recorded progress that cannot be stored.",
                error=outcome.error,
            )
        return outcome

    @staticmethod
    def _restore_details(context: StepContext) -> None:
        target = context.binding.record if context.binding is not None else context.instance.record
        target.details = dict(context.details_loaded)

    @staticmethod
    def _classify(kind: OperationKind, result: Any) -> StepOutcome:
        if isinstance(result, InProgress):
            return StepOutcome(
                Outcome.IN_PROGRESS, description=result.description or None, retry_after=result.retry_after
            )
        if kind == OperationKind.BIND:
            if not isinstance(result, Bound):
                return StepOutcome(Outcome.ERROR, error=TypeError(f"bind returned {type(result).__name__}"))
            try:
                stored = bound_to_json(result)
                canonical(stored)
            except (TypeError, ValueError, AttributeError):
                return StepOutcome(
                    Outcome.FAILED, description="The broker returned credentials that cannot be stored."
                )
            return StepOutcome(
                Outcome.DONE, description=result.description or None, result=result, bound=stored
            )
        if not isinstance(result, Done):
            return StepOutcome(Outcome.ERROR, error=TypeError(f"{kind} returned {type(result).__name__}"))
        return StepOutcome(Outcome.DONE, description=result.description or None, result=result)

    # -- record ------------------------------------------------------------------------

    def apply(self, context: StepContext, outcome: StepOutcome, owner: str) -> Applied:
        """Record a step's outcome and release the lease, if ``owner`` still holds it."""
        applied, final = self._parts.store.transact(lambda tx: self._apply(tx, context, outcome, owner))
        op = context.op
        extra = operation_fields(
            op,
            outcome=final.kind.value if applied == Applied.RECORDED else applied.value,
            attempt=op.attempt + 1,
        )
        if final.kind == Outcome.ERROR and final.error is not None:
            log.warning("operation step failed; will retry", extra={**extra, **safe_error(final.error)})
        elif applied == Applied.LOST:
            log.warning("operation lease lost during the step; its outcome was not recorded", extra=extra)
        elif final.kind == Outcome.IN_PROGRESS:
            log.debug("operation step done; more to do", extra=extra)
        else:
            if final.error is not None and final.kind == Outcome.FAILED:
                extra.update(safe_error(final.error))
            log.info("operation finished", extra=extra)
        return applied

    def apply_or_fail(self, context: StepContext, outcome: StepOutcome, owner: str) -> Applied:
        """``apply``; but when the database refuses a value of the outcome (a description
        with a NUL character, on PostgreSQL), the operation fails, where recording the
        same outcome again would fail on every step for as long as the operation lasts."""
        try:
            return self.apply(context, outcome, owner)
        except StoreValueError as error:
            log.error(
                "an operation step's outcome cannot be stored; the operation fails",
                extra=operation_fields(context.op, **error.log_fields()),
            )
            failed = StepOutcome(
                Outcome.FAILED,
                description="The broker's step returned a value its state store cannot store.",
                error=error,
            )
            return self.apply(context, failed, owner)

    def _apply(
        self, tx: Transaction, context: StepContext, outcome: StepOutcome, owner: str
    ) -> tuple[Applied, StepOutcome]:
        now = utcnow()
        instance = tx.instance(context.op.instance_id, lock=True)
        binding = (
            tx.binding(context.op.instance_id, context.op.binding_id, lock=True)
            if context.op.binding_id
            else None
        )
        op = tx.operation(context.op.id, lock=True)
        if op is None or instance is None or op.lease_owner != owner:
            return Applied.LOST, outcome
        # Progress recorded by the step is kept whatever the outcome: a later step (or
        # the deprovision that superseded this one) needs to know what exists.
        if binding is not None and context.binding is not None:
            binding.record.details = context.binding.record.details
            binding.updated_at = now
        elif binding is None:
            instance.record.details = context.instance.record.details
            instance.updated_at = now
        op.attempt += 1
        op.updated_at = now
        op.lease_owner = None
        op.lease_expires_at = None
        applied = Applied.RECORDED
        if not op.in_progress:
            applied = Applied.SUPERSEDED
        else:
            outcome = self._within_deadline(op, outcome, now)
            self._record(tx, op, instance, binding, outcome, now)
        tx.save_operation(op)
        if binding is None:
            tx.save_instance(instance)
        else:
            tx.save_binding(binding)  # a binding's step changes its binding only
        return applied, outcome

    def _within_deadline(self, op: StoredOperation, outcome: StepOutcome, now: datetime) -> StepOutcome:
        if outcome.kind not in (Outcome.IN_PROGRESS, Outcome.ERROR):
            return outcome
        limit = self._parts.max_duration(op.plan_id)
        if now < op.started_at + timedelta(seconds=limit):
            return outcome
        return StepOutcome(
            Outcome.FAILED,
            description=f"The operation did not finish within {math.ceil(limit)} seconds.",
            error=outcome.error,
        )

    def _record(
        self,
        tx: Transaction,
        op: StoredOperation,
        instance: StoredInstance,
        binding: StoredBinding | None,
        outcome: StepOutcome,
        now: datetime,
    ) -> None:
        if outcome.kind == Outcome.IN_PROGRESS:
            delay = max(0.0, outcome.retry_after or 0.0)
            op.failures = 0
            op.retry_after = delay
            op.next_run_at = now + timedelta(seconds=delay)
            if outcome.description:
                op.description = outcome.description
        elif outcome.kind == Outcome.ERROR:
            op.failures += 1
            delay = self._parts.settings.backoff(op.failures)
            op.retry_after = delay
            op.next_run_at = now + timedelta(seconds=delay)
        elif outcome.kind == Outcome.DONE:
            op.state = OperationState.SUCCEEDED
            op.finished_at = now
            op.description = outcome.description
            op.retry_after = None
            succeed(tx, op, instance, binding, outcome, now)
        else:
            op.state = OperationState.FAILED
            op.finished_at = now
            op.description = outcome.description or f"The {op.kind} failed."
            op.instance_usable = outcome.instance_usable
            op.update_repeatable = outcome.update_repeatable
            op.retry_after = None
            fail(op, instance, binding)

    # -- inline rollback ---------------------------------------------------------------

    def roll_back(self, started: Started, owner: str) -> None:
        """Undo an operation whose inline step failed: the request changed nothing."""
        self._parts.store.transact(lambda tx: _roll_back(tx, started, owner, utcnow()))


def succeed(
    tx: Transaction,
    op: StoredOperation,
    instance: StoredInstance,
    binding: StoredBinding | None,
    outcome: StepOutcome,
    now: datetime,
) -> None:
    """Apply a finished operation to its instance or binding."""
    record = instance.record
    done = outcome.result if isinstance(outcome.result, Done) else None
    if op.kind in (OperationKind.PROVISION, OperationKind.UPDATE) and instance.operation_id == op.id:
        if op.kind == OperationKind.PROVISION:
            instance.status = InstanceStatus.READY
            instance.provisioned_at = now
        else:
            record.plan_id = op.plan_id
            record.parameters = {**record.parameters, **op.parameters}
            if op.context is not None:
                record.context = Context(raw=op.context)
            if op.maintenance_info_version is not None:
                record.maintenance_info_version = op.maintenance_info_version
        if done is not None and done.dashboard_url is not None:
            record.dashboard_url = done.dashboard_url
        if done is not None and done.metadata is not None:
            record.metadata = done.metadata
    elif op.kind == OperationKind.DEPROVISION and instance.operation_id == op.id:
        instance.status = InstanceStatus.DELETED
        instance.deleted_at = now
        tx.mark_bindings_deleted(instance.id, now)
    elif binding is not None and binding.operation_id == op.id:
        if op.kind == OperationKind.BIND:
            binding.status = BindingStatus.BOUND
            binding.bound_at = now
            binding.result = outcome.bound
        else:
            binding.status = BindingStatus.DELETED
            binding.deleted_at = now
            binding.result = None  # revoked credentials are not kept


def fail(op: StoredOperation, instance: StoredInstance, binding: StoredBinding | None) -> None:
    """Apply a failed operation to its instance or binding."""
    if op.binding_id is None and instance.operation_id == op.id:
        if op.kind == OperationKind.PROVISION:
            instance.status = InstanceStatus.FAILED
        elif op.kind == OperationKind.DEPROVISION:
            instance.status = InstanceStatus.READY if instance.provisioned_at else InstanceStatus.FAILED
    elif binding is not None and binding.operation_id == op.id:
        if op.kind == OperationKind.BIND:
            binding.status = BindingStatus.FAILED
        else:
            binding.status = BindingStatus.BOUND if binding.bound_at else BindingStatus.FAILED


def _roll_back(tx: Transaction, started: Started, owner: str, now: datetime) -> None:
    first = started.op
    instance = tx.instance(first.instance_id, lock=True)
    binding = tx.binding(first.instance_id, first.binding_id, lock=True) if first.binding_id else None
    op = tx.operation(first.id, lock=True)
    if instance is None or op is None or op.lease_owner != owner:
        return
    if not op.in_progress:
        # Superseded while the step ran (a delete came): the delete owns the state now.
        op.lease_owner = None
        op.lease_expires_at = None
        tx.save_operation(op)
        return
    kind = op.kind
    if kind == OperationKind.PROVISION:
        if started.prior_instance is None:
            tx.remove_instance(instance.id)
            return
        restored = started.prior_instance
        restored.record.details = instance.record.details
        restored.updated_at = now
        tx.save_instance(restored)
    elif kind in (OperationKind.UPDATE, OperationKind.DEPROVISION):
        prior = started.prior_instance
        if prior is not None:
            # A provision this delete superseded stays failed.
            instance.status = (
                InstanceStatus.FAILED if prior.status == InstanceStatus.PROVISIONING else prior.status
            )
            instance.operation_id = prior.operation_id
            instance.updated_at = now
            tx.save_instance(instance)
    elif binding is not None:
        if kind == OperationKind.BIND and started.prior_binding is None:
            tx.remove_binding(binding.record.instance_id, binding.id)
            return
        prior_binding = started.prior_binding
        if prior_binding is not None:
            if kind == OperationKind.BIND:
                prior_binding.record.details = binding.record.details
                prior_binding.updated_at = now
                tx.save_binding(prior_binding)
            else:
                binding.status = (
                    BindingStatus.FAILED
                    if prior_binding.status == BindingStatus.BINDING
                    else prior_binding.status
                )
                binding.operation_id = prior_binding.operation_id
                binding.updated_at = now
                tx.save_binding(binding)
    tx.remove_operation(op.id)
