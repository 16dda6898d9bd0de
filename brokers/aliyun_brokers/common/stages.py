"""Running one broker step as named stages, recorded in a dict, until one has to wait.

Every step of the Alibaba brokers (provision, update, deprovision, bind) is such a run.
A step's progress lives in ``state["step"]`` (``state`` is the record's ``details`` or a
part of it, persisted by the framework after every step). A stage does one thing and
returns the name of the next stage, or a result (``InProgress`` to wait, or a final
``Done``/``Bound``); ``"done"`` ends the run with ``finish()``. Several stages run in one
step while none has to wait; a crash re-runs at most the stage in flight, so every stage
must be safe to repeat. An ``AliyunError`` from a stage is retried later when transient
and ends the operation otherwise (``failures.fail_or_retry``), described with what the
stage was doing.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, TypeVar

from aliyun_brokers.common.failures import fail_or_retry
from openbroker_aliyun.aliyun.port import AliyunError

__all__ = ["DONE", "Stage", "run_stages"]

#: The name of the pseudo-stage that ends a run.
DONE = "done"

Context = TypeVar("Context")
Operation = TypeVar("Operation")
Result = TypeVar("Result")

#: ``stage(context, operation, state) -> next stage name | result``.
Stage = Callable[[Context, Operation, dict[str, Any]], "str | Result"]


def run_stages(
    context: Context,
    op: Operation,
    state: dict[str, Any],
    stages: Mapping[str, Stage[Context, Operation, Result]],
    doing: Mapping[str, str],
    finish: Callable[[], Result],
    *,
    first: str,
    rounds: int = 1,
    instance_usable: bool | None = None,
    update_repeatable: bool | None = None,
) -> Result:
    """Run ``stages`` from ``state["step"]`` (``first`` when unset) until one returns a result.

    ``doing[stage]`` says what a stage does ("Creating the RDS instance"), for failure
    descriptions. ``rounds`` bounds stage sequences that loop back (each stage may run
    that many times per step). ``instance_usable`` and ``update_repeatable`` go to a
    failure (update and deprovision report them).
    """
    state.setdefault("step", first)
    for _ in range(len(stages) * rounds + 1):  # bounded: each stage moves on or returns
        stage = state["step"]
        if stage == DONE:
            return finish()
        try:
            outcome = stages[stage](context, op, state)
        except AliyunError as error:
            fail_or_retry(
                error, doing[stage], instance_usable=instance_usable, update_repeatable=update_repeatable
            )
        if not isinstance(outcome, str):
            return outcome
        state["step"] = outcome
    raise AssertionError(f"stages did not converge (stuck after {state['step']!r})")
