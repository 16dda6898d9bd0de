"""The background driver: driving, wake-up, retries, deadlines, prefetch, stop and resume."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import Counter

import pytest
from engine_testkit import (
    FAST,
    QUICK,
    SECRET_MARK,
    EngineFactory,
    deprovision_request,
    drive_until_settled,
    last_op,
    new_id,
    provision_request,
)
from sqlalchemy import select

from openbroker_aliyun.domain import OperationKind, OperationState
from openbroker_aliyun.engine import DriverSettings
from openbroker_aliyun.errors import NotFound
from openbroker_aliyun.store.tables import operations

ASYNC_ALL = frozenset(OperationKind)


def wait_for(condition: object, *, seconds: float = 20.0) -> None:
    """Poll ``condition()`` until true; bounded."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.01)
    raise AssertionError("condition not met in time")


def state(engine: object, iid: str) -> OperationState:
    return engine.last_operation(last_op(iid)).state  # type: ignore[attr-defined,no-any-return]


def test_the_driver_thread_completes_async_operations_nobody_polls(make_engine: EngineFactory) -> None:
    engine, broker = make_engine(async_kinds=ASYNC_ALL, steps={OperationKind.PROVISION: 3}, run_driver=True)
    engine.start()
    ids = [new_id() for _ in range(5)]
    for iid in ids:
        engine.provision(provision_request(iid))
    wait_for(lambda: all(state(engine, iid) == OperationState.SUCCEEDED for iid in ids))
    for iid in ids:
        assert [c.step for c in broker.calls_of(OperationKind.PROVISION, iid)] == [1, 2, 3]


def test_a_new_operation_wakes_the_driver(make_engine: EngineFactory) -> None:
    # A poll interval far longer than the test may take: only the wake-up can drive it.
    slow_poll = dataclasses.replace(FAST, poll_interval=600.0)
    engine, _ = make_engine(async_kinds=ASYNC_ALL, run_driver=True, settings=slow_poll)
    engine.start()
    time.sleep(0.05)  # let the driver finish its first (empty) round and sleep
    iid = new_id()
    engine.provision(provision_request(iid))
    wait_for(lambda: state(engine, iid) == OperationState.SUCCEEDED)


def test_transient_errors_are_retried_with_backoff(make_engine: EngineFactory) -> None:
    engine, broker = make_engine(
        async_kinds=ASYNC_ALL,
        failures={OperationKind.PROVISION: "transient"},
        fail_times={OperationKind.PROVISION: 3},
    )
    iid = new_id()
    op = engine.provision(provision_request(iid)).operation
    engine.drive_once()
    with engine.store.engine.connect() as connection:
        row = connection.execute(select(operations).where(operations.c.id == op)).mappings().one()
    assert (row["state"], row["failures"], row["attempt"]) == ("in progress", 1, 1)
    assert FAST.backoff_base * 0.5 <= row["retry_after"] <= FAST.backoff_base
    wait_for(lambda: engine.drive_once() >= 0 and state(engine, iid) != OperationState.IN_PROGRESS)
    assert state(engine, iid) == OperationState.SUCCEEDED
    assert [c.attempt for c in broker.calls_of(OperationKind.PROVISION)] == [1, 2, 3, 4]


def test_backoff_doubles_up_to_the_cap() -> None:
    settings = DriverSettings(backoff_base=1.0, backoff_cap=10.0)
    for failures, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 10.0), (60, 10.0)]:
        delays = [settings.backoff(failures) for _ in range(50)]
        assert all(ceiling * 0.5 <= delay <= ceiling for delay in delays)


def test_transient_errors_fail_the_operation_after_the_plans_maximum_polling_duration(
    make_engine: EngineFactory,
) -> None:
    engine, _ = make_engine(async_kinds=ASYNC_ALL, failures={OperationKind.PROVISION: "transient"})
    iid = new_id()
    engine.provision(provision_request(iid, plan_id=QUICK))  # maximum_polling_duration: 1 s
    wait_for(lambda: engine.drive_once() >= 0 and state(engine, iid) != OperationState.IN_PROGRESS)
    last = engine.last_operation(last_op(iid))
    assert last.state == OperationState.FAILED
    assert last.description == "The operation did not finish within 1 seconds."


def test_an_operation_in_progress_for_longer_than_the_default_maximum_fails(
    make_engine: EngineFactory,
) -> None:
    short = dataclasses.replace(FAST, default_max_duration=0.2)
    engine, _ = make_engine(async_kinds=ASYNC_ALL, steps={OperationKind.PROVISION: 10**6}, settings=short)
    iid = new_id()
    engine.provision(provision_request(iid))
    wait_for(lambda: engine.drive_once() >= 0 and state(engine, iid) != OperationState.IN_PROGRESS)
    assert state(engine, iid) == OperationState.FAILED


def test_prefetch_gets_each_batch_once(make_engine: EngineFactory) -> None:
    engine, broker = make_engine(async_kinds=ASYNC_ALL)
    ops = {engine.provision(provision_request(new_id())).operation for _ in range(3)}
    assert engine.drive_once() == 3
    assert len(broker.prefetched) == 1 and set(broker.prefetched[0]) == ops


def test_stop_finishes_the_step_in_flight_and_another_engine_resumes(make_engine: EngineFactory) -> None:
    first, broker = make_engine(
        async_kinds=ASYNC_ALL, steps={OperationKind.PROVISION: 4}, step_sleep=0.2, run_driver=True
    )
    first.start()
    iid = new_id()
    op = first.provision(provision_request(iid)).operation
    wait_for(lambda: len(broker.calls_of(OperationKind.PROVISION)) >= 2)
    first.stop(timeout=10)
    assert not first.driver_running
    with first.store.engine.connect() as connection:
        row = connection.execute(select(operations).where(operations.c.id == op)).mappings().one()
    # The step in flight was finished and recorded, and its lease given back.
    assert row["lease_owner"] is None and row["attempt"] == 2 and row["state"] == "in progress"
    second, second_broker = make_engine(async_kinds=ASYNC_ALL, steps={OperationKind.PROVISION: 4})
    drive_until_settled(second)
    assert state(second, iid) == OperationState.SUCCEEDED
    assert [c.step for c in broker.calls_of(OperationKind.PROVISION)] == [1, 2]
    assert [c.step for c in second_broker.calls_of(OperationKind.PROVISION)] == [3, 4]


def test_stop_gives_back_operations_claimed_but_not_stepped(make_engine: EngineFactory) -> None:
    engine, broker = make_engine(async_kinds=ASYNC_ALL, step_sleep=0.3, run_driver=True)
    ids = [new_id() for _ in range(3)]
    for iid in ids:
        engine.provision(provision_request(iid))
    engine.start()
    wait_for(lambda: len(broker.calls) >= 1)
    engine.stop(timeout=10)
    with engine.store.engine.connect() as connection:
        leased = connection.execute(
            select(operations.c.id).where(operations.c.lease_owner.is_not(None))
        ).all()
    assert leased == []
    assert 1 <= len(broker.calls) < 3
    # A stopped engine takes no new steps; another one finishes the rest.
    assert engine.drive_once() == 0
    other, other_broker = make_engine(async_kinds=ASYNC_ALL)
    drive_until_settled(other)
    assert all(state(other, iid) == OperationState.SUCCEEDED for iid in ids)
    assert Counter(c.instance_id for c in broker.calls + other_broker.calls) == Counter(ids)


def test_two_drivers_on_one_store_never_step_one_operation_twice(make_engine: EngineFactory) -> None:
    first, first_broker = make_engine(
        async_kinds=ASYNC_ALL, steps={OperationKind.PROVISION: 3}, run_driver=True
    )
    second, second_broker = make_engine(
        async_kinds=ASYNC_ALL, steps={OperationKind.PROVISION: 3}, run_driver=True
    )
    ids = [new_id() for _ in range(12)]
    for iid in ids:
        first.provision(provision_request(iid))
    first.start()
    second.start()
    wait_for(lambda: all(state(first, iid) == OperationState.SUCCEEDED for iid in ids), seconds=60)
    steps = Counter((c.operation, c.step) for c in first_broker.calls + second_broker.calls)
    assert len(steps) == 12 * 3 and set(steps.values()) == {1}


def test_the_driver_purges_tombstones_after_the_retention_time(make_engine: EngineFactory) -> None:
    short = dataclasses.replace(FAST, tombstone_retention=0.05, purge_interval=0.05)
    engine, _ = make_engine(settings=short, run_driver=True)
    iid = new_id()
    engine.provision(provision_request(iid))
    engine.deprovision(deprovision_request(iid))
    engine.start()

    def purged() -> bool:
        try:
            engine.last_operation(last_op(iid))
        except NotFound:
            return True
        return False

    wait_for(purged)


def test_logs_carry_ids_and_never_secrets(
    make_engine: EngineFactory, caplog: pytest.LogCaptureFixture
) -> None:
    engine, _ = make_engine(
        async_kinds=ASYNC_ALL,
        failures={OperationKind.PROVISION: "transient"},
        fail_times={OperationKind.PROVISION: 1},
    )
    iid = new_id()
    caplog.set_level(logging.DEBUG, logger="openbroker_aliyun")
    engine.provision(provision_request(iid, parameters={"admin_password": f"{SECRET_MARK}param"}))
    wait_for(lambda: engine.drive_once() >= 0 and state(engine, iid) != OperationState.IN_PROGRESS)
    records = [r for r in caplog.records if r.name.startswith("openbroker_aliyun")]
    retry = [r for r in records if r.getMessage() == "operation step failed; will retry"]
    assert retry and retry[0].instance_id == iid and retry[0].kind == "provision"  # type: ignore[attr-defined]
    assert retry[0].error_type == "builtins.RuntimeError"  # type: ignore[attr-defined]
    finished = [r for r in records if r.getMessage() == "operation finished"]
    assert finished and finished[0].outcome == "done"  # type: ignore[attr-defined]
    for record in records:
        assert SECRET_MARK not in str(record.__dict__)
        assert SECRET_MARK not in caplog.text


def test_a_step_longer_than_the_lease_keeps_its_lease(make_engine: EngineFactory) -> None:
    """The lease is renewed while a step runs, so a second driver never takes it over."""
    short_lease = dataclasses.replace(FAST, lease_seconds=0.3)
    first, first_broker = make_engine(
        async_kinds=ASYNC_ALL, step_sleep=0.9, run_driver=True, settings=short_lease
    )
    second, second_broker = make_engine(async_kinds=ASYNC_ALL, run_driver=True, settings=short_lease)
    iid = new_id()
    first.provision(provision_request(iid))
    first.start()
    wait_for(lambda: len(first_broker.calls) == 1)
    second.start()
    wait_for(lambda: state(first, iid) == OperationState.SUCCEEDED)
    assert len(first_broker.calls) == 1 and second_broker.calls == []
