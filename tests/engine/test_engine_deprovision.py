"""Deprovision through the engine API, including a delete during a provision."""

from __future__ import annotations

import threading
import time

import pytest
from engine_testkit import (
    FAST,
    EngineFactory,
    bind_request,
    db_snapshot,
    deprovision_request,
    drive_until_settled,
    fetch_binding,
    fetch_instance,
    last_op,
    new_id,
    provision_request,
    unbind_request,
    update_request,
)

from openbroker_aliyun.domain import OperationKind, OperationState
from openbroker_aliyun.errors import AsyncRequired, BadRequest, ConcurrencyError, Gone, NotFound

ASYNC_ALL = frozenset(OperationKind)


def test_sync_deprovision_answers_200_then_410(make_engine: EngineFactory) -> None:
    engine, broker = make_engine()
    iid = new_id()
    engine.provision(provision_request(iid))
    assert engine.deprovision(deprovision_request(iid)).status == 200
    with pytest.raises(Gone):
        engine.deprovision(deprovision_request(iid))
    with pytest.raises(Gone):
        engine.deprovision(deprovision_request(new_id()))
    with pytest.raises(NotFound):
        engine.fetch_instance(fetch_instance(iid))
    assert len(broker.calls_of(OperationKind.DEPROVISION)) == 1


def test_deprovision_needs_service_and_plan_ids(make_engine: EngineFactory) -> None:
    engine, _ = make_engine()
    iid = new_id()
    engine.provision(provision_request(iid))
    with pytest.raises(BadRequest, match="plan_id"):
        engine.deprovision(deprovision_request(iid, plan_id=""))


def test_async_deprovision_repeat_is_202_same_operation_and_tombstone_answers_succeeded(
    make_engine: EngineFactory,
) -> None:
    engine, _ = make_engine(async_kinds=ASYNC_ALL, steps={OperationKind.DEPROVISION: 2})
    iid = new_id()
    engine.provision(provision_request(iid))
    drive_until_settled(engine)
    first = engine.deprovision(deprovision_request(iid))
    assert first.status == 202 and first.operation
    assert engine.deprovision(deprovision_request(iid)).operation == first.operation
    with pytest.raises(AsyncRequired):
        engine.deprovision(deprovision_request(iid, accepts=False))
    drive_until_settled(engine)
    done = engine.last_operation(last_op(iid, operation=first.operation))
    assert done.state == OperationState.SUCCEEDED
    # The final state is remembered: asking again gives the same answer.
    assert engine.last_operation(last_op(iid)).state == OperationState.SUCCEEDED
    with pytest.raises(Gone):
        engine.deprovision(deprovision_request(iid))


def test_deprovision_marks_existing_bindings_deleted(make_engine: EngineFactory) -> None:
    engine, _ = make_engine()
    iid, bid = new_id(), new_id()
    engine.provision(provision_request(iid))
    engine.bind(bind_request(iid, bid))
    assert engine.deprovision(deprovision_request(iid)).status == 200
    with pytest.raises(NotFound):
        engine.fetch_binding(fetch_binding(iid, bid))
    with pytest.raises(Gone):
        engine.unbind(unbind_request(iid, bid))


def test_deprovision_while_update_or_bind_in_flight_is_a_concurrency_error(
    make_engine: EngineFactory,
) -> None:
    engine, _ = make_engine(
        async_kinds=frozenset({OperationKind.UPDATE, OperationKind.BIND}),
        steps={OperationKind.UPDATE: 2, OperationKind.BIND: 2},
    )
    iid = new_id()
    engine.provision(provision_request(iid))
    engine.update(update_request(iid, parameters={"size": 3}))
    before = db_snapshot(engine)
    with pytest.raises(ConcurrencyError):
        engine.deprovision(deprovision_request(iid))
    assert db_snapshot(engine) == before
    drive_until_settled(engine)
    engine.bind(bind_request(iid, new_id()))
    with pytest.raises(ConcurrencyError):
        engine.deprovision(deprovision_request(iid))


def test_failed_deprovision_keeps_the_instance_and_reports_instance_usable(
    make_engine: EngineFactory,
) -> None:
    engine, broker = make_engine(async_kinds=ASYNC_ALL, failures={OperationKind.DEPROVISION: "failed"})
    iid = new_id()
    engine.provision(provision_request(iid))
    drive_until_settled(engine)
    op = engine.deprovision(deprovision_request(iid)).operation
    drive_until_settled(engine)
    last = engine.last_operation(last_op(iid, operation=op))
    assert last.state == OperationState.FAILED
    assert last.instance_usable is False and last.update_repeatable is None
    assert engine.fetch_instance(fetch_instance(iid)).service_id
    broker.failures.clear()
    assert engine.deprovision(deprovision_request(iid)).status == 202


def test_delete_during_provision_supersedes_it(make_engine: EngineFactory) -> None:
    engine, broker = make_engine(async_kinds=ASYNC_ALL, steps={OperationKind.PROVISION: 5})
    iid = new_id()
    provision_op = engine.provision(provision_request(iid)).operation
    engine.drive_once()  # one provision step done
    delete = engine.deprovision(deprovision_request(iid))
    assert delete.status == 202 and delete.operation != provision_op
    superseded = engine.last_operation(last_op(iid, operation=provision_op))
    assert superseded.state == OperationState.FAILED
    assert superseded.description == "Superseded by a deprovision request."
    drive_until_settled(engine)
    assert engine.last_operation(last_op(iid)).state == OperationState.SUCCEEDED
    # No provision step ran after the delete was accepted.
    assert [c.step for c in broker.calls_of(OperationKind.PROVISION)] == [1]
    # The deprovision saw what the provision recorded.
    assert broker.calls_of(OperationKind.DEPROVISION)


def test_delete_during_a_provision_step_waits_for_the_step(make_engine: EngineFactory) -> None:
    """The deprovision is not stepped until the provision's step in flight has finished."""
    engine, broker = make_engine(
        async_kinds=ASYNC_ALL,
        steps={OperationKind.PROVISION: 3},
        step_sleep=0.4,
        run_driver=True,
        settings=FAST,
    )
    iid = new_id()
    engine.start()
    provision_op = engine.provision(provision_request(iid)).operation
    deadline = time.monotonic() + 10
    while not broker.calls_of(OperationKind.PROVISION) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert broker.calls_of(OperationKind.PROVISION), "the driver never started the provision"
    # The provision's first step is sleeping inside the broker now.
    assert engine.deprovision(deprovision_request(iid)).status == 202
    while (
        engine.last_operation(last_op(iid)).state == OperationState.IN_PROGRESS
        and time.monotonic() < deadline
    ):
        time.sleep(0.02)
    assert engine.last_operation(last_op(iid)).state == OperationState.SUCCEEDED
    broker.step_sleep = 0
    provision_calls = broker.calls_of(OperationKind.PROVISION)
    deprovision_calls = broker.calls_of(OperationKind.DEPROVISION)
    assert [c.step for c in provision_calls] == [1]
    first_delete = broker.calls.index(deprovision_calls[0])
    # The provision's step completed before the delete's first step was called...
    assert broker.calls.index(provision_calls[0]) < first_delete
    # ...and the delete saw the progress it recorded (details persisted, then read).
    assert deprovision_calls[0].seen_progress == {provision_op: 1}


def test_sync_delete_during_a_provision_step_is_a_concurrency_error(make_engine: EngineFactory) -> None:
    engine, broker = make_engine(
        async_kinds=frozenset({OperationKind.PROVISION}), steps={OperationKind.PROVISION: 2}, step_sleep=0.5
    )
    iid = new_id()
    engine.provision(provision_request(iid))
    stepping = threading.Thread(target=engine.drive_once)
    stepping.start()
    deadline = time.monotonic() + 5
    while not broker.calls_of(OperationKind.PROVISION) and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(ConcurrencyError):
        engine.deprovision(deprovision_request(iid))
    stepping.join(10)
    # Between steps the sync delete supersedes the provision and runs at once.
    broker.step_sleep = 0
    assert engine.deprovision(deprovision_request(iid)).status == 200
    assert engine.last_operation(last_op(iid)).state == OperationState.SUCCEEDED
    drive_until_settled(engine)
    assert [c.step for c in broker.calls_of(OperationKind.PROVISION)] == [1]


def test_deprovision_of_a_failed_provision_cleans_up(make_engine: EngineFactory) -> None:
    engine, broker = make_engine(async_kinds=ASYNC_ALL, failures={OperationKind.PROVISION: "failed"})
    iid = new_id()
    engine.provision(provision_request(iid))
    drive_until_settled(engine)
    assert engine.deprovision(deprovision_request(iid)).status == 202
    drive_until_settled(engine)
    assert engine.last_operation(last_op(iid)).state == OperationState.SUCCEEDED
    assert len(broker.calls_of(OperationKind.DEPROVISION)) == 1
