"""Bind, unbind and GET binding through the engine API."""

from __future__ import annotations

from typing import Any

import pytest
from engine_testkit import (
    FIXED,
    LARGE,
    OTHER_PLAN,
    SERVICE_ID,
    SMALL,
    EngineFactory,
    bind_request,
    db_snapshot,
    deprovision_request,
    drive_until_settled,
    fetch_binding,
    last_op,
    new_id,
    provision_request,
    unbind_request,
)

from openbroker_aliyun.domain import BindRequest, OperationKind, OperationState
from openbroker_aliyun.errors import (
    AsyncRequired,
    BadRequest,
    ConcurrencyError,
    Conflict,
    Gone,
    InternalError,
    NotFound,
    RequiresApp,
)

ASYNC_BINDINGS = frozenset({OperationKind.BIND, OperationKind.UNBIND})


def _instance(engine: Any, plan_id: str | None = None) -> str:
    iid = new_id()
    engine.provision(provision_request(iid, **({"plan_id": plan_id} if plan_id else {})))
    drive_until_settled(engine)
    return iid


def test_sync_bind_201_then_200_with_credentials_and_409_on_other_parameters(
    make_engine: EngineFactory,
) -> None:
    engine, broker = make_engine()
    iid, bid = _instance(engine), new_id()
    first = engine.bind(bind_request(iid, bid, parameters={"role": "ro"}))
    assert first.status == 201
    assert first.binding is not None and first.binding.credentials == {
        "username": f"u-{bid}",
        "password": f"sup3r-s3cret-{bid}",
    }
    again = engine.bind(bind_request(iid, bid, parameters={"role": "ro"}))
    assert again.status == 200 and again.binding == first.binding
    before = db_snapshot(engine)
    with pytest.raises(Conflict):
        engine.bind(bind_request(iid, bid, parameters={"role": "rw"}))
    with pytest.raises(Conflict):
        engine.bind(bind_request(iid, bid, parameters={"role": "ro"}, app_guid="another-app"))
    assert db_snapshot(engine) == before
    view = engine.fetch_binding(fetch_binding(iid, bid))
    assert view.credentials == first.binding.credentials and view.parameters == {"role": "ro"}
    assert len(broker.calls_of(OperationKind.BIND)) == 1


def test_async_bind_202_carries_no_credentials_and_repeats_the_operation(make_engine: EngineFactory) -> None:
    engine, _ = make_engine(async_kinds=ASYNC_BINDINGS, steps={OperationKind.BIND: 2})
    iid, bid = _instance(engine), new_id()
    first = engine.bind(bind_request(iid, bid))
    assert first.status == 202 and first.binding is None and first.operation
    again = engine.bind(bind_request(iid, bid))
    assert (again.status, again.operation, again.binding) == (202, first.operation, None)
    with pytest.raises(NotFound):
        engine.fetch_binding(fetch_binding(iid, bid))
    with pytest.raises(Conflict):
        engine.bind(bind_request(iid, bid, parameters={"role": "ro"}))
    with pytest.raises(AsyncRequired):
        engine.bind(bind_request(iid, bid, accepts=False))
    assert engine.last_operation(last_op(iid, bid)).state == OperationState.IN_PROGRESS
    drive_until_settled(engine)
    assert engine.last_operation(last_op(iid, bid, first.operation)).state == OperationState.SUCCEEDED
    assert engine.fetch_binding(fetch_binding(iid, bid)).credentials
    assert engine.bind(bind_request(iid, bid)).status == 200


def test_bindings_of_one_instance_are_created_in_parallel(make_engine: EngineFactory) -> None:
    engine, _ = make_engine(async_kinds=ASYNC_BINDINGS, steps={OperationKind.BIND: 2})
    iid = _instance(engine)
    first, second = new_id(), new_id()
    assert engine.bind(bind_request(iid, first)).status == 202
    assert engine.bind(bind_request(iid, second)).status == 202
    drive_until_settled(engine)
    assert engine.fetch_binding(fetch_binding(iid, first)).credentials
    assert engine.fetch_binding(fetch_binding(iid, second)).credentials


@pytest.mark.parametrize(
    ("args", "error", "named"),
    [
        ({"plan_id": OTHER_PLAN}, BadRequest, OTHER_PLAN),
        ({"plan_id": "nope"}, BadRequest, "nope"),
        ({"parameters": {"role": "admin"}}, BadRequest, "role"),
        ({"binding_id": ""}, BadRequest, "binding_id"),
    ],
)
def test_bad_bind_requests_are_400_and_change_nothing(
    make_engine: EngineFactory, args: dict[str, Any], error: type[Exception], named: str
) -> None:
    engine, broker = make_engine()
    iid = _instance(engine)
    binding_id = args.pop("binding_id", new_id())
    before = db_snapshot(engine)
    with pytest.raises(error) as caught:
        engine.bind(bind_request(iid, binding_id, **args))
    assert named in caught.value.description  # type: ignore[attr-defined]
    assert db_snapshot(engine) == before
    assert broker.calls_of(OperationKind.BIND) == []


def test_bind_to_a_plan_that_is_not_bindable_is_400(make_engine: EngineFactory) -> None:
    engine, _ = make_engine()
    iid = _instance(engine, FIXED)
    with pytest.raises(BadRequest, match="not bindable"):
        engine.bind(bind_request(iid, new_id(), plan_id=FIXED))


def test_bind_without_app_when_the_broker_requires_one_is_422_requires_app(
    make_engine: EngineFactory,
) -> None:
    engine, _ = make_engine(requires_app=True)
    iid = _instance(engine)
    before = db_snapshot(engine)
    with pytest.raises(RequiresApp):
        engine.bind(bind_request(iid, new_id(), app_guid=None))
    assert db_snapshot(engine) == before
    # The deprecated top-level app_guid counts too.
    legacy = BindRequest(
        instance_id=iid, binding_id=new_id(), service_id=SERVICE_ID, plan_id=SMALL, app_guid="a"
    )
    assert engine.bind(legacy).status == 201


def test_bind_to_unknown_provisioning_or_failed_instances(make_engine: EngineFactory) -> None:
    engine, broker = make_engine(async_kinds=frozenset({OperationKind.PROVISION}))
    with pytest.raises(NotFound):
        engine.bind(bind_request(new_id(), new_id()))
    provisioning = new_id()
    engine.provision(provision_request(provisioning))
    with pytest.raises(ConcurrencyError):
        engine.bind(bind_request(provisioning, new_id()))
    broker.failures[OperationKind.PROVISION] = "failed"
    drive_until_settled(engine)
    with pytest.raises(BadRequest, match="failed to provision"):
        engine.bind(bind_request(provisioning, new_id()))


def test_binding_rotation(make_engine: EngineFactory) -> None:
    engine, broker = make_engine()
    iid, old, new = _instance(engine), new_id(), new_id()
    engine.bind(bind_request(iid, old))
    rotated = engine.bind(bind_request(iid, new, predecessor=old))
    assert rotated.status == 201
    assert broker.calls_of(OperationKind.BIND)[-1].predecessor_binding_id == old
    # Both stay valid.
    assert engine.fetch_binding(fetch_binding(iid, old)).credentials
    assert engine.fetch_binding(fetch_binding(iid, new)).credentials
    with pytest.raises(BadRequest, match="predecessor_binding_id"):
        engine.bind(bind_request(iid, new_id(), predecessor="no-such-binding"))
    engine.unbind(unbind_request(iid, old))
    with pytest.raises(BadRequest, match="predecessor_binding_id"):
        engine.bind(bind_request(iid, new_id(), predecessor=old))
    other = _instance(engine)
    with pytest.raises(BadRequest, match="predecessor_binding_id"):
        engine.bind(bind_request(other, new_id(), predecessor=new))


def test_rotation_on_a_plan_without_binding_rotatable_is_400(make_engine: EngineFactory) -> None:
    engine, _ = make_engine()
    iid = _instance(engine, LARGE)
    bid = new_id()
    engine.bind(bind_request(iid, bid, plan_id=LARGE))
    with pytest.raises(BadRequest, match="rotation"):
        engine.bind(bind_request(iid, new_id(), predecessor=bid, plan_id=LARGE))


def test_unbind_sync_200_then_410(make_engine: EngineFactory) -> None:
    engine, broker = make_engine()
    iid, bid = _instance(engine), new_id()
    engine.bind(bind_request(iid, bid))
    assert engine.unbind(unbind_request(iid, bid)).status == 200
    with pytest.raises(Gone):
        engine.unbind(unbind_request(iid, bid))
    with pytest.raises(Gone):
        engine.unbind(unbind_request(iid, new_id()))
    with pytest.raises(Gone):
        engine.unbind(unbind_request(new_id(), new_id()))
    with pytest.raises(NotFound):
        engine.fetch_binding(fetch_binding(iid, bid))
    assert len(broker.calls_of(OperationKind.UNBIND)) == 1


def test_async_unbind_repeat_is_202_same_operation(make_engine: EngineFactory) -> None:
    engine, _ = make_engine(async_kinds=ASYNC_BINDINGS, steps={OperationKind.UNBIND: 2})
    iid, bid = _instance(engine), new_id()
    engine.bind(bind_request(iid, bid))
    drive_until_settled(engine)
    first = engine.unbind(unbind_request(iid, bid))
    assert first.status == 202
    assert engine.unbind(unbind_request(iid, bid)).operation == first.operation
    with pytest.raises(ConcurrencyError):
        engine.bind(bind_request(iid, bid))
    drive_until_settled(engine)
    assert engine.last_operation(last_op(iid, bid)).state == OperationState.SUCCEEDED
    with pytest.raises(Gone):
        engine.unbind(unbind_request(iid, bid))


def test_unbind_during_an_async_bind_supersedes_it(make_engine: EngineFactory) -> None:
    engine, broker = make_engine(async_kinds=ASYNC_BINDINGS, steps={OperationKind.BIND: 4})
    iid, bid = _instance(engine), new_id()
    bind_op = engine.bind(bind_request(iid, bid)).operation
    engine.drive_once()
    assert engine.unbind(unbind_request(iid, bid)).status == 202
    assert engine.last_operation(last_op(iid, bid, bind_op)).state == OperationState.FAILED
    drive_until_settled(engine)
    assert engine.last_operation(last_op(iid, bid)).state == OperationState.SUCCEEDED
    assert [c.step for c in broker.calls_of(OperationKind.BIND)] == [1]


def test_failed_bind_rolls_back_when_sync_and_can_be_retried(make_engine: EngineFactory) -> None:
    engine, broker = make_engine(failures={OperationKind.BIND: "transient"})
    iid, bid = _instance(engine), new_id()
    before = db_snapshot(engine)
    with pytest.raises(InternalError) as caught:
        engine.bind(bind_request(iid, bid))
    assert "sup3r" not in caught.value.description
    assert db_snapshot(engine) == before
    broker.failures.clear()
    assert engine.bind(bind_request(iid, bid)).status == 201


def test_async_bind_failure_then_bind_again(make_engine: EngineFactory) -> None:
    engine, broker = make_engine(async_kinds=ASYNC_BINDINGS, failures={OperationKind.BIND: "failed"})
    iid, bid = _instance(engine), new_id()
    engine.bind(bind_request(iid, bid))
    drive_until_settled(engine)
    assert engine.last_operation(last_op(iid, bid)).state == OperationState.FAILED
    with pytest.raises(NotFound):
        engine.fetch_binding(fetch_binding(iid, bid))
    broker.failures.clear()
    assert engine.bind(bind_request(iid, bid)).status == 202
    drive_until_settled(engine)
    assert engine.fetch_binding(fetch_binding(iid, bid)).credentials


def test_bind_and_unbind_while_the_instance_is_being_deleted(make_engine: EngineFactory) -> None:
    engine, _ = make_engine(async_kinds=frozenset({OperationKind.DEPROVISION}))
    iid, bid = _instance(engine), new_id()
    engine.bind(bind_request(iid, bid))
    engine.deprovision(deprovision_request(iid))
    with pytest.raises(ConcurrencyError):
        engine.bind(bind_request(iid, new_id()))
    with pytest.raises(ConcurrencyError):
        engine.unbind(unbind_request(iid, bid))
