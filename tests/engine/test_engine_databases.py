"""The engine on each database: a whole lifecycle, concurrent requests, no clear secrets."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from engine_testkit import (
    LARGE,
    SECRET_MARK,
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

ASYNC_ALL = frozenset(OperationKind)


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def any_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'any.db'}"
    if request.param == "postgresql":
        return str(request.getfixturevalue("postgres_database"))
    return str(request.getfixturevalue("mysql_database"))


def test_lifecycle_with_secrets_never_stored_in_clear(make_engine: EngineFactory, any_url: str) -> None:
    engine, _ = make_engine(
        url=any_url, async_kinds=frozenset({OperationKind.PROVISION, OperationKind.UPDATE})
    )
    iid, bid = new_id(), new_id()
    secret_parameter = f"{SECRET_MARK}parameter"
    assert (
        engine.provision(provision_request(iid, parameters={"admin_password": secret_parameter})).status
        == 202
    )
    drive_until_settled(engine)
    bound = engine.bind(bind_request(iid, bid))
    assert bound.status == 201 and bound.binding is not None
    assert bound.binding.credentials["password"] == f"{SECRET_MARK}{bid}"  # type: ignore[index]
    assert engine.update(update_request(iid, plan_id=LARGE, parameters={"size": 30})).status == 202
    drive_until_settled(engine)
    view = engine.fetch_instance(fetch_instance(iid))
    assert (view.plan_id, view.parameters["size"], view.parameters["admin_password"]) == (  # type: ignore[index]
        LARGE,
        30,
        secret_parameter,
    )
    assert engine.fetch_binding(fetch_binding(iid, bid)).credentials == bound.binding.credentials
    # Parameters, the broker's details and the credentials are all stored encrypted.
    raw = repr(db_snapshot(engine))
    assert SECRET_MARK not in raw
    assert engine.unbind(unbind_request(iid, bid)).status == 200
    assert engine.deprovision(deprovision_request(iid)).status == 200
    assert engine.last_operation(last_op(iid)).state == OperationState.SUCCEEDED


def test_concurrent_identical_requests_make_one_operation(make_engine: EngineFactory, any_url: str) -> None:
    engine, broker = make_engine(url=any_url, async_kinds=ASYNC_ALL)
    iid, bid = new_id(), new_id()
    answers: list[Any] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def run(call: Any) -> None:
        barrier.wait(10)
        try:
            answers.append(call())
        except BaseException as error:  # collected for the assertion
            errors.append(error)

    def together(call: Any) -> None:
        answers.clear()
        threads = [threading.Thread(target=run, args=(call,)) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
        assert len({answer.operation for answer in answers}) == 1

    together(lambda: engine.provision(provision_request(iid)))
    drive_until_settled(engine)
    together(lambda: engine.bind(bind_request(iid, bid)))
    drive_until_settled(engine)
    together(lambda: engine.unbind(unbind_request(iid, bid)))
    drive_until_settled(engine)
    together(lambda: engine.deprovision(deprovision_request(iid)))
    drive_until_settled(engine)
    assert engine.last_operation(last_op(iid)).state == OperationState.SUCCEEDED
    for kind in OperationKind:
        if kind != OperationKind.UPDATE:
            assert len(broker.calls_of(kind)) == 1, kind
