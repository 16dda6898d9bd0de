"""Running a step as named stages: resuming, several stages per step, failures described
by what the stage was doing, and a bound on stages that never settle."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from aliyun_brokers.common.stages import StageTable, run_stages

from openbroker_aliyun.aliyun.port import AliyunError
from openbroker_aliyun.broker import Done, InProgress, InstanceStepResult
from openbroker_aliyun.errors import OperationFailed

DOING = {"one": "Doing one", "two": "Doing two", "three": "Doing three"}


@dataclass
class State:
    """The run's position, as a progress record keeps it."""

    step: str | None = None


class Journal:
    """The context of the stages: what ran, and what each stage should do."""

    def __init__(self, **behaviour: Any) -> None:
        self.ran: list[str] = []
        self.behaviour = behaviour

    def stage(self, name: str, then: str) -> Any:
        def run(context: Journal, op: str, state: State) -> str | InstanceStepResult:
            context.ran.append(name)
            outcome = context.behaviour.get(name)
            if isinstance(outcome, Exception):
                raise outcome
            if outcome == "wait":
                context.behaviour.pop(name)
                state.step = then
                return InProgress(description=f"waiting after {name}", retry_after=0.1)
            return then

        return run


def _run(journal: Journal, state: State, **options: Any) -> InstanceStepResult:
    stages = {
        "one": (journal.stage("one", "two"), DOING["one"]),
        "two": (journal.stage("two", "three"), DOING["two"]),
        "three": (journal.stage("three", "done"), DOING["three"]),
    }
    table = StageTable(first="one", stages=stages)
    return run_stages(journal, "op", state, table, lambda: Done(description="all done"), at=state, **options)


def test_runs_every_stage_in_one_step_while_none_waits() -> None:
    journal, state = Journal(), State()
    result = _run(journal, state)
    assert isinstance(result, Done) and result.description == "all done"
    assert journal.ran == ["one", "two", "three"] and state.step == "done"


def test_a_waiting_stage_ends_the_step_and_the_next_step_resumes_after_it() -> None:
    journal, state = Journal(two="wait"), State()
    assert isinstance(_run(journal, state), InProgress)
    assert journal.ran == ["one", "two"] and state.step == "three"
    assert isinstance(_run(journal, state), Done)
    assert journal.ran == ["one", "two", "three"]


def test_a_transient_error_propagates_so_the_engine_retries_the_stage() -> None:
    journal, state = Journal(two=AliyunError("Throttling", "slow down", retryable=True)), State()
    with pytest.raises(AliyunError):
        _run(journal, state)
    assert state.step == "two"  # the stage in flight runs again


def test_a_permanent_error_fails_the_operation_saying_what_was_being_done() -> None:
    error = AliyunError("QuotaExceeded.DBInstance", "too many instances", retryable=False)
    journal, state = Journal(three=error), State()
    with pytest.raises(OperationFailed) as caught:
        _run(journal, state, instance_usable=True, update_repeatable=True)
    assert str(caught.value).startswith("Doing three failed.")
    assert caught.value.instance_usable is True and caught.value.update_repeatable is True


def test_stages_that_never_settle_are_stopped() -> None:
    journal, state = Journal(), State()
    stages = {
        "one": (journal.stage("one", "two"), DOING["one"]),
        "two": (journal.stage("two", "one"), DOING["two"]),
    }
    table = StageTable(first="one", stages=stages, rounds=2)
    with pytest.raises(AssertionError, match="did not converge"):
        run_stages(journal, "op", state, table, lambda: Done(), at=state)
    assert len(journal.ran) == 2 * 2 + 1
