"""Update through the engine API: plan changes, parameters, context, concurrency."""

from __future__ import annotations

import pytest
from engine_testkit import (
    FIXED,
    LARGE,
    OTHER_PLAN,
    OTHER_SERVICE_ID,
    QUICK,
    SMALL,
    EngineFactory,
    bind_request,
    db_snapshot,
    drive_until_settled,
    fetch_instance,
    last_op,
    new_id,
    provision_request,
    update_request,
)

from openbroker_aliyun.domain import Context, OperationKind, OperationState
from openbroker_aliyun.errors import (
    AsyncRequired,
    BadRequest,
    ConcurrencyError,
    MaintenanceInfoConflict,
    NotFound,
    UnprocessableEntity,
)

ASYNC_UPDATE = frozenset({OperationKind.UPDATE})


def _ready(engine: object, plan_id: str = SMALL, **params: object) -> str:
    iid = new_id()
    engine.provision(provision_request(iid, plan_id=plan_id, parameters=dict(params) or None))  # type: ignore[attr-defined]
    return iid


def test_sync_update_changes_plan_and_merges_parameters(make_engine: EngineFactory) -> None:
    engine, broker = make_engine()
    iid = _ready(engine, size=10, label="a")
    answer = engine.update(update_request(iid, plan_id=LARGE, parameters={"size": 50}))
    assert answer.status == 200
    call = broker.calls_of(OperationKind.UPDATE)[0]
    assert call.parameters == {"size": 50}
    assert call.plan_id == LARGE
    view = engine.fetch_instance(fetch_instance(iid))
    assert view.plan_id == LARGE
    assert view.parameters == {"size": 50, "label": "a", "admin_password": None}
    # The new plan's maintenance version comes with the plan change.
    assert view.maintenance_info_version == "2.0.0"


def test_update_hands_the_broker_only_changed_parameters(make_engine: EngineFactory) -> None:
    engine, broker = make_engine()
    iid = _ready(engine, size=10, label="a")
    engine.update(update_request(iid, parameters={"size": 10, "label": "b"}))
    assert broker.calls_of(OperationKind.UPDATE)[0].parameters == {"label": "b"}


def test_missing_plan_and_parameters_mean_unchanged_and_no_change_is_200(make_engine: EngineFactory) -> None:
    engine, broker = make_engine()
    iid = _ready(engine, size=10)
    before = db_snapshot(engine)
    assert engine.update(update_request(iid)).status == 200
    assert engine.update(update_request(iid, plan_id=SMALL, parameters={"size": 10})).status == 200
    assert engine.update(update_request(iid, maintenance="1.0.0")).status == 200
    assert db_snapshot(engine) == before
    assert broker.calls_of(OperationKind.UPDATE) == []


def test_context_only_update_is_stored_without_calling_the_broker(make_engine: EngineFactory) -> None:
    engine, broker = make_engine()
    iid = _ready(engine)
    renamed = Context(raw={"platform": "cloudfoundry", "instance_name": "renamed"})
    assert engine.update(update_request(iid, context=renamed)).status == 200
    assert broker.calls_of(OperationKind.UPDATE) == []
    from openbroker_aliyun.store.tables import instances

    with engine.store.engine.connect() as connection:
        stored = connection.execute(instances.select().where(instances.c.id == iid)).mappings().one()
    assert "renamed" in stored["context"]


def test_plan_change_on_a_plan_that_is_not_updateable_is_422(make_engine: EngineFactory) -> None:
    engine, _ = make_engine()
    iid = _ready(engine, plan_id=FIXED)
    before = db_snapshot(engine)
    with pytest.raises(UnprocessableEntity, match="plan_updateable"):
        engine.update(update_request(iid, plan_id=QUICK))
    assert db_snapshot(engine) == before


@pytest.mark.parametrize(
    ("args", "error", "named"),
    [
        ({"plan_id": OTHER_PLAN}, BadRequest, OTHER_PLAN),
        ({"plan_id": "nope"}, BadRequest, "nope"),
        ({"service_id": OTHER_SERVICE_ID}, BadRequest, OTHER_SERVICE_ID),
        ({"service_id": "nope"}, BadRequest, "nope"),
        ({"parameters": {"size": 0}}, BadRequest, "size"),
        ({"parameters": {"admin_password": "x"}}, BadRequest, "admin_password"),
        ({"parameters": {"label": "reject-me"}}, BadRequest, "reject-me"),
        ({"maintenance": "9.9.9"}, MaintenanceInfoConflict, "9.9.9"),
    ],
)
def test_bad_updates_are_rejected_without_change(
    make_engine: EngineFactory, args: dict[str, object], error: type[Exception], named: str
) -> None:
    engine, broker = make_engine()
    iid = _ready(engine)
    before = db_snapshot(engine)
    with pytest.raises(error) as caught:
        engine.update(update_request(iid, **args))  # type: ignore[arg-type]
    assert named in caught.value.description  # type: ignore[attr-defined]
    assert db_snapshot(engine) == before
    assert broker.calls_of(OperationKind.UPDATE) == []


def test_update_of_an_unknown_instance_is_404(make_engine: EngineFactory) -> None:
    engine, _ = make_engine()
    with pytest.raises(NotFound):
        engine.update(update_request(new_id(), parameters={"size": 2}))


def test_async_update_repeat_gets_the_same_operation_and_another_update_is_a_concurrency_error(
    make_engine: EngineFactory,
) -> None:
    engine, _ = make_engine(async_kinds=ASYNC_UPDATE, steps={OperationKind.UPDATE: 2})
    iid = _ready(engine)
    first = engine.update(update_request(iid, parameters={"size": 20}))
    assert first.status == 202 and first.operation
    assert engine.update(update_request(iid, parameters={"size": 20})).operation == first.operation
    before = db_snapshot(engine)
    with pytest.raises(ConcurrencyError):
        engine.update(update_request(iid, parameters={"size": 30}))
    with pytest.raises(ConcurrencyError):
        engine.fetch_instance(fetch_instance(iid))
    with pytest.raises(ConcurrencyError):
        engine.bind(bind_request(iid, new_id()))
    assert db_snapshot(engine) == before
    drive_until_settled(engine)
    assert engine.last_operation(last_op(iid)).state == OperationState.SUCCEEDED
    assert engine.fetch_instance(fetch_instance(iid)).parameters["size"] == 20  # type: ignore[index]


def test_async_update_without_accepts_incomplete_is_422(make_engine: EngineFactory) -> None:
    engine, _ = make_engine(async_kinds=ASYNC_UPDATE)
    iid = _ready(engine)
    with pytest.raises(AsyncRequired):
        engine.update(update_request(iid, parameters={"size": 2}, accepts=False))


def test_failed_update_reports_instance_usable_and_update_repeatable(make_engine: EngineFactory) -> None:
    engine, broker = make_engine(async_kinds=ASYNC_UPDATE, failures={OperationKind.UPDATE: "failed"})
    iid = _ready(engine, size=10)
    op = engine.update(update_request(iid, plan_id=LARGE, parameters={"size": 40})).operation
    drive_until_settled(engine)
    last = engine.last_operation(last_op(iid, operation=op))
    assert last.state == OperationState.FAILED
    assert (last.instance_usable, last.update_repeatable) == (False, True)
    # A failed update changes nothing.
    view = engine.fetch_instance(fetch_instance(iid))
    assert (view.plan_id, view.parameters["size"]) == (SMALL, 10)  # type: ignore[index]
    broker.failures.clear()
    assert engine.update(update_request(iid, parameters={"size": 40})).status == 202


def test_update_of_a_provisioning_instance_is_a_concurrency_error(make_engine: EngineFactory) -> None:
    engine, _ = make_engine(async_kinds=frozenset({OperationKind.PROVISION}))
    iid = new_id()
    engine.provision(provision_request(iid))
    with pytest.raises(ConcurrencyError):
        engine.update(update_request(iid, parameters={"size": 2}))


def test_context_only_update_without_allow_context_updates_is_ignored(make_engine: EngineFactory) -> None:
    engine, broker = make_engine()
    iid = new_id()
    engine.provision(provision_request(iid, service_id=OTHER_SERVICE_ID, plan_id=OTHER_PLAN))
    before = db_snapshot(engine)
    renamed = Context(raw={"platform": "cloudfoundry", "instance_name": "renamed"})
    assert engine.update(update_request(iid, service_id=OTHER_SERVICE_ID, context=renamed)).status == 200
    assert db_snapshot(engine) == before
    assert broker.calls_of(OperationKind.UPDATE) == []
