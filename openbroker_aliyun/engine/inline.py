"""Running a synchronous operation's step during the request.

The operation is recorded first, leased to this process, so a crash mid-step leaves an
operation another process finishes in the background. If the step fails, the record is
rolled back: the platform gets an error and the broker's state is as before.
"""

from __future__ import annotations

from dataclasses import dataclass

from openbroker_aliyun.engine.logfields import log, operation_fields, safe_error
from openbroker_aliyun.engine.parts import EngineParts
from openbroker_aliyun.engine.stepping import Outcome, Started, StepContext, StepOutcome, Stepper
from openbroker_aliyun.errors import AsyncRequired, BrokerError, InternalError, OperationFailed


@dataclass(frozen=True)
class InlineResult:
    #: True when the operation finished; False when it went on in the background (202).
    finished: bool
    context: StepContext
    outcome: StepOutcome


def run_inline(
    parts: EngineParts, stepper: Stepper, started: Started, accepts_incomplete: bool
) -> InlineResult:
    """Step a just-recorded operation now; raise the request's error if it fails."""
    op = started.op
    owner = parts.leases.owner
    parts.leases.hold(op.id)
    try:
        context = stepper.load(op.id)
        if context is None:  # pragma: no cover - the row was recorded by this request
            raise InternalError("The operation vanished while it was starting.")
        outcome = stepper.call(context)
        if outcome.kind == Outcome.DONE:
            stepper.apply(context, outcome, owner)
            return InlineResult(True, context, outcome)
        if outcome.kind == Outcome.IN_PROGRESS and accepts_incomplete:
            # The step needs more time and the platform accepts a 202: go on in the background.
            stepper.apply(context, outcome, owner)
            parts.wake()
            return InlineResult(False, context, outcome)
        stepper.roll_back(started, owner)
        raise _request_error(started, outcome)
    finally:
        parts.leases.drop(op.id)


def _request_error(started: Started, outcome: StepOutcome) -> BrokerError:
    op = started.op
    what = f"{op.kind} of {'binding ' + op.binding_id if op.binding_id else 'instance ' + op.instance_id}"
    extra = operation_fields(op, outcome="rolled back")
    error = outcome.error
    if error is not None and not isinstance(error, OperationFailed | BrokerError):
        extra.update(safe_error(error))
    log.warning("synchronous operation failed; rolled back", extra=extra)
    if outcome.kind == Outcome.IN_PROGRESS:
        return AsyncRequired(f"The {what} takes time: retry with accepts_incomplete=true.")
    if isinstance(error, BrokerError):
        return error
    if isinstance(error, OperationFailed) or (error is None and outcome.description):
        return InternalError(f"The {what} failed: {outcome.description}")
    return InternalError(f"The {what} failed because of an unexpected error; the broker's log has details.")
