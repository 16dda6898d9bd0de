"""Provision through the engine API: OSB A4 codes and A6 idempotency rows."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from engine_testkit import (
    FIXED,
    LARGE,
    OTHER_PLAN,
    OTHER_SERVICE_ID,
    SMALL,
    EngineFactory,
    db_snapshot,
    drive_until_settled,
    last_op,
    new_id,
    provision_request,
)

from openbroker_aliyun.domain import OperationKind, OperationState
from openbroker_aliyun.errors import (
    AsyncRequired,
    BadRequest,
    ConcurrencyError,
    Conflict,
    InternalError,
    MaintenanceInfoConflict,
)

ASYNC = frozenset({OperationKind.PROVISION})


def test_sync_provision_answers_201_then_200_for_the_same_request(make_engine: EngineFactory) -> None:
    engine, broker = make_engine()
    iid = new_id()
    first = engine.provision(provision_request(iid, parameters={"size": 20}))
    assert first.status == 201
    assert first.operation is None
    assert first.dashboard_url == f"https://dashboard.example/{iid}"
    again = engine.provision(provision_request(iid, parameters={"size": 20}))
    assert again.status == 200
    assert again.dashboard_url == first.dashboard_url
    # Defaults applied before comparing: omitting a defaulted parameter is the same request.
    assert engine.provision(provision_request(iid, parameters={"size": 20, "label": "none"})).status == 200
    assert len(broker.calls_of(OperationKind.PROVISION)) == 1
    assert broker.calls_of(OperationKind.PROVISION)[0].parameters == {
        "size": 20,
        "label": "none",
        "admin_password": None,
    }


def test_async_provision_answers_202_with_the_same_operation_while_in_flight(
    make_engine: EngineFactory,
) -> None:
    engine, broker = make_engine(async_kinds=ASYNC, steps={OperationKind.PROVISION: 2})
    iid = new_id()
    first = engine.provision(provision_request(iid))
    assert first.status == 202
    assert first.operation and len(first.operation) <= 10_000
    again = engine.provision(provision_request(iid))
    assert (again.status, again.operation) == (202, first.operation)
    assert engine.last_operation(last_op(iid)).state == OperationState.IN_PROGRESS
    drive_until_settled(engine)
    assert engine.last_operation(last_op(iid, operation=first.operation)).state == OperationState.SUCCEEDED
    assert engine.provision(provision_request(iid)).status == 200
    assert [c.step for c in broker.calls_of(OperationKind.PROVISION)] == [1, 2]


def test_repeat_in_flight_without_accepts_incomplete_is_a_concurrency_error(
    make_engine: EngineFactory,
) -> None:
    # A sync broker whose step needs more time, and the platform accepts a 202: goes async.
    engine, _ = make_engine(steps={OperationKind.PROVISION: 3})
    iid = new_id()
    first = engine.provision(provision_request(iid, accepts=True))
    assert first.status == 202
    with pytest.raises(ConcurrencyError):
        engine.provision(provision_request(iid, accepts=False))
    assert engine.provision(provision_request(iid, accepts=True)).operation == first.operation
    drive_until_settled(engine)
    assert engine.last_operation(last_op(iid)).state == OperationState.SUCCEEDED


@pytest.mark.parametrize(
    "change",
    [
        {"plan_id": LARGE},
        {"parameters": {"size": 99}},
        {"service_id": OTHER_SERVICE_ID, "plan_id": OTHER_PLAN},
    ],
)
@pytest.mark.parametrize("finished", [True, False])
def test_same_id_with_different_attributes_is_409(
    make_engine: EngineFactory, change: dict[str, Any], finished: bool
) -> None:
    engine, _broker = make_engine(async_kinds=ASYNC, steps={OperationKind.PROVISION: 2})
    iid = new_id()
    engine.provision(provision_request(iid))
    if finished:
        drive_until_settled(engine)
    before = db_snapshot(engine)
    with pytest.raises(Conflict) as caught:
        engine.provision(provision_request(iid, **change))
    assert iid in caught.value.description
    assert db_snapshot(engine) == before


def test_org_space_and_context_need_not_match(make_engine: EngineFactory) -> None:
    from openbroker_aliyun.domain import Context

    engine, _broker = make_engine()
    iid = new_id()
    engine.provision(provision_request(iid))
    other = provision_request(iid, context=Context(raw={"platform": "kubernetes", "namespace": "x"}))
    assert engine.provision(other).status == 200


def test_async_provision_without_accepts_incomplete_is_422_and_records_nothing(
    make_engine: EngineFactory,
) -> None:
    engine, broker = make_engine(async_kinds=ASYNC)
    before = db_snapshot(engine)
    with pytest.raises(AsyncRequired):
        engine.provision(provision_request(new_id(), accepts=False))
    assert db_snapshot(engine) == before
    assert broker.calls == [] and broker.validations == []


@pytest.mark.parametrize(
    ("request_args", "named"),
    [
        ({"service_id": "no-such-service"}, "no-such-service"),
        ({"plan_id": "no-such-plan"}, "no-such-plan"),
        ({"plan_id": OTHER_PLAN}, OTHER_PLAN),
        ({"service_id": ""}, "service_id"),
        ({"plan_id": "  "}, "plan_id"),
        ({"parameters": {"size": 1000}}, "size"),
        ({"parameters": {"size": "big"}}, "size"),
        ({"parameters": {"unknown_field": 1}}, "unknown_field"),
        ({"parameters": {"label": "reject-me"}}, "reject-me"),
        ({"plan_id": FIXED, "parameters": {"size": 1}}, "no parameters"),
    ],
)
def test_bad_provision_requests_are_400_naming_the_problem_and_change_nothing(
    make_engine: EngineFactory, request_args: dict[str, Any], named: str
) -> None:
    engine, broker = make_engine()
    before = db_snapshot(engine)
    with pytest.raises(BadRequest) as caught:
        engine.provision(provision_request(new_id(), **request_args))
    assert named in caught.value.description
    assert db_snapshot(engine) == before
    assert broker.calls == []


def test_empty_instance_id_is_400(make_engine: EngineFactory) -> None:
    engine, _ = make_engine()
    with pytest.raises(BadRequest, match="instance_id"):
        engine.provision(provision_request(""))


def test_parameters_are_validated_before_the_broker_sees_them(make_engine: EngineFactory) -> None:
    engine, broker = make_engine()
    with pytest.raises(BadRequest):
        engine.provision(provision_request(new_id(), parameters={"size": 0}))
    assert broker.validations == []


def test_maintenance_info_mismatch_is_422(make_engine: EngineFactory) -> None:
    engine, _ = make_engine()
    before = db_snapshot(engine)
    with pytest.raises(MaintenanceInfoConflict):
        engine.provision(provision_request(new_id(), maintenance="0.9.0"))
    assert db_snapshot(engine) == before
    assert engine.provision(provision_request(new_id(), maintenance="1.0.0")).status == 201


@pytest.mark.parametrize("failure", ["failed", "transient", "bad_request", "unavailable"])
def test_sync_provision_step_error_rolls_the_record_back(make_engine: EngineFactory, failure: str) -> None:
    engine, broker = make_engine(failures={OperationKind.PROVISION: failure})
    iid = new_id()
    before = db_snapshot(engine)
    expected = BadRequest if failure == "bad_request" else InternalError
    if failure == "unavailable":
        from openbroker_aliyun.errors import BrokerError

        expected = BrokerError
    with pytest.raises(expected) as caught:
        engine.provision(provision_request(iid))
    assert db_snapshot(engine) == before
    # Unexpected errors are reported without their message (it may hold a secret).
    assert "sup3r" not in caught.value.description
    if failure == "unavailable":
        assert caught.value.status == 503
    # Nothing was recorded, so the same id can be provisioned again once the broker works.
    broker.failures.clear()
    assert engine.provision(provision_request(iid)).status == 201


def test_sync_step_needing_time_without_accepts_incomplete_is_async_required(
    make_engine: EngineFactory,
) -> None:
    engine, _ = make_engine(steps={OperationKind.PROVISION: 2})
    before = db_snapshot(engine)
    with pytest.raises(AsyncRequired):
        engine.provision(provision_request(new_id(), accepts=False))
    assert db_snapshot(engine) == before


def test_failed_provision_is_started_again_with_a_new_operation(make_engine: EngineFactory) -> None:
    engine, broker = make_engine(async_kinds=ASYNC, failures={OperationKind.PROVISION: "failed"})
    iid = new_id()
    first = engine.provision(provision_request(iid))
    drive_until_settled(engine)
    failed = engine.last_operation(last_op(iid))
    assert failed.state == OperationState.FAILED
    assert failed.description == "the test broker was told to fail"
    broker.failures.clear()
    second = engine.provision(provision_request(iid, parameters={"size": 5}))
    assert second.status == 202 and second.operation != first.operation
    drive_until_settled(engine)
    assert engine.last_operation(last_op(iid)).state == OperationState.SUCCEEDED
    # The failed attempt's progress is handed to the new one.
    assert engine.last_operation(last_op(iid, operation=first.operation)).state == OperationState.FAILED


def test_concurrent_identical_provisions_create_one_record_and_one_operation(
    make_engine: EngineFactory,
) -> None:
    engine, broker = make_engine(async_kinds=ASYNC)
    iid = new_id()
    answers: list[Any] = []
    errors: list[BaseException] = []

    def put() -> None:
        try:
            answers.append(engine.provision(provision_request(iid)))
        except BaseException as error:  # collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=put) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert {answer.status for answer in answers} == {202}
    assert len({answer.operation for answer in answers}) == 1
    snapshot = db_snapshot(engine)
    assert len(snapshot["osb_instances"]) == 1
    assert len(snapshot["osb_operations"]) == 1
    drive_until_settled(engine)
    assert len(broker.calls_of(OperationKind.PROVISION)) == 1


def test_provision_repeated_while_being_deleted_is_a_concurrency_error(make_engine: EngineFactory) -> None:
    engine, _ = make_engine(async_kinds=frozenset({OperationKind.DEPROVISION}))
    iid = new_id()
    engine.provision(provision_request(iid))
    from engine_testkit import deprovision_request

    assert engine.deprovision(deprovision_request(iid)).status == 202
    with pytest.raises(ConcurrencyError):
        engine.provision(provision_request(iid))


def test_deleted_instance_id_can_be_provisioned_again(make_engine: EngineFactory) -> None:
    from engine_testkit import deprovision_request

    engine, _ = make_engine()
    iid = new_id()
    engine.provision(provision_request(iid))
    assert engine.deprovision(deprovision_request(iid)).status == 200
    assert engine.provision(provision_request(iid, plan_id=SMALL, parameters={"size": 3})).status == 201


def test_a_broker_check_that_breaks_is_500_without_its_message(make_engine: EngineFactory) -> None:
    engine, _ = make_engine()
    before = db_snapshot(engine)
    with pytest.raises(InternalError) as caught:
        engine.provision(provision_request(new_id(), parameters={"label": "explode"}))
    assert "sup3r" not in caught.value.description
    assert db_snapshot(engine) == before
