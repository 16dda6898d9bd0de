"""Running one broker step as named stages, from a table, until one has to wait.

Every step of the Alibaba brokers (provision, update, deprovision, bind) is such a run.
A product declares a ``StageTable`` per operation: which stage function runs for which
``step`` value and what it does (for failure descriptions), and which comes first. The
step's position is the ``step`` of a progress record (``at``: the instance's record, or
its ``update``, its ``deprovision``, a binding's record), which the framework persists
after every step. A stage does one thing and returns the name of the next stage, or a
result (``InProgress`` to wait, or a final ``Done``/``Bound``); ``"done"`` ends the run
with ``finish()``. Several stages run in one step while none has to wait; a crash re-runs
at most the stage in flight, so every stage must be safe to repeat. An ``AliyunError``
from a stage is retried later when transient and ends the operation otherwise
(``failures.fail_or_retry``), described with what the stage was doing.

Which table runs for which operation is decided once, in ``aliyun_brokers.common.broker``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Generic, Mapping, Protocol, TypeVar

from aliyun_brokers.common.failures import fail_or_retry
from openbroker_aliyun.aliyun.port import AliyunError

__all__ = ["DONE", "Stage", "StageTable", "Staged", "run_stages"]

#: The name of the pseudo-stage that ends a run.
DONE = "done"

Context = TypeVar("Context")
Operation = TypeVar("Operation")
State = TypeVar("State")
Result = TypeVar("Result")

#: ``stage(context, operation, state) -> next stage name | result``.
Stage = Callable[[Context, Operation, State], "str | Result"]


class Staged(Protocol):
    """A progress record that keeps a run's position (``None``: not started)."""

    step: str | None


@dataclass(frozen=True)
class StageTable(Generic[Context, Operation, State, Result]):
    """The stages of one operation: ``stages[step]`` is the stage that runs next and what it
    does (``(_create, "Creating the RDS instance")``). ``rounds`` bounds sequences that loop
    back (each stage may run that many times per step)."""

    first: str
    stages: Mapping[str, tuple[Stage[Context, Operation, State, Result], str]]
    rounds: int = 1


def run_stages(
    context: Context,
    op: Operation,
    state: State,
    table: StageTable[Context, Operation, State, Result],
    finish: Callable[[], Result],
    *,
    at: Staged,
    instance_usable: bool | None = None,
    update_repeatable: bool | None = None,
) -> Result:
    """Run ``table`` from ``at.step`` (``table.first`` when unset) until a stage returns a result.

    Each stage is called as ``stage(context, op, state)``. ``instance_usable`` and
    ``update_repeatable`` go to a failure (update and deprovision report them).
    """
    stage = at.step = table.first if at.step is None else at.step
    for _ in range(len(table.stages) * table.rounds + 1):  # bounded: each stage moves on or returns
        if stage == DONE:
            return finish()
        run, doing = table.stages[stage]
        try:
            outcome = run(context, op, state)
        except AliyunError as error:
            fail_or_retry(error, doing, instance_usable=instance_usable, update_repeatable=update_repeatable)
        if not isinstance(outcome, str):
            return outcome
        stage = at.step = outcome
    raise AssertionError(f"stages did not converge (stuck after {stage!r})")
