"""last_operation and GET instance: states, retry_after, unknown ids and tokens."""

from __future__ import annotations

import pytest
from engine_testkit import (
    EngineFactory,
    bind_request,
    drive_until_settled,
    fetch_instance,
    last_op,
    new_id,
    provision_request,
)

from openbroker_aliyun.domain import OperationKind, OperationState
from openbroker_aliyun.errors import BadRequest, NotFound

ASYNC_ALL = frozenset(OperationKind)


def test_retry_after_comes_from_the_step_and_is_at_least_one(make_engine: EngineFactory) -> None:
    engine, broker = make_engine(async_kinds=ASYNC_ALL, steps={OperationKind.PROVISION: 3}, retry_after=0.0)
    iid = new_id()
    engine.provision(provision_request(iid))
    assert engine.last_operation(last_op(iid)).retry_after == 1
    engine.drive_once()
    assert engine.last_operation(last_op(iid)).retry_after == 1
    broker.retry_after = 42.5
    engine.drive_once()
    last = engine.last_operation(last_op(iid))
    assert (last.state, last.retry_after, last.description) == (
        OperationState.IN_PROGRESS,
        43,
        "provision step 2",
    )
    # Not due for 42 s: the driver leaves it alone.
    assert engine.drive_once() == 0


def test_unknown_instance_or_binding_is_404_and_a_foreign_operation_is_400(
    make_engine: EngineFactory,
) -> None:
    engine, _ = make_engine(async_kinds=ASYNC_ALL)
    with pytest.raises(NotFound):
        engine.last_operation(last_op(new_id()))
    iid, other = new_id(), new_id()
    op = engine.provision(provision_request(iid)).operation
    other_op = engine.provision(provision_request(other)).operation
    with pytest.raises(NotFound):
        engine.last_operation(last_op(iid, new_id()))
    with pytest.raises(BadRequest, match="not an operation"):
        engine.last_operation(last_op(iid, operation="no-such-operation"))
    with pytest.raises(BadRequest, match="not an operation"):
        engine.last_operation(last_op(iid, operation=other_op))
    drive_until_settled(engine)
    bid = new_id()
    bind_op = engine.bind(bind_request(iid, bid)).operation
    # An instance token on the binding endpoint, and the other way round.
    with pytest.raises(BadRequest):
        engine.last_operation(last_op(iid, bid, op))
    with pytest.raises(BadRequest):
        engine.last_operation(last_op(iid, operation=bind_op))
    assert engine.last_operation(last_op(iid, bid, bind_op)).state == OperationState.IN_PROGRESS


def test_get_instance_is_404_while_provisioning_and_200_with_parameters_after(
    make_engine: EngineFactory,
) -> None:
    engine, _ = make_engine(async_kinds=ASYNC_ALL)
    iid = new_id()
    engine.provision(provision_request(iid, parameters={"size": 7}))
    with pytest.raises(NotFound):
        engine.fetch_instance(fetch_instance(iid))
    with pytest.raises(NotFound):
        engine.fetch_instance(fetch_instance(new_id()))
    drive_until_settled(engine)
    view = engine.fetch_instance(fetch_instance(iid))
    assert view.parameters == {"size": 7, "label": "none", "admin_password": None}
    assert view.dashboard_url == f"https://dashboard.example/{iid}"
    assert view.maintenance_info_version == "1.0.0"
    assert dict(view.metadata.labels) == {"size": "7"}  # type: ignore[union-attr]


def test_failed_provision_answers_failed_and_is_not_retrievable(make_engine: EngineFactory) -> None:
    engine, _ = make_engine(async_kinds=ASYNC_ALL, failures={OperationKind.PROVISION: "failed"})
    iid = new_id()
    engine.provision(provision_request(iid))
    drive_until_settled(engine)
    last = engine.last_operation(last_op(iid))
    assert last.state == OperationState.FAILED
    # instance_usable / update_repeatable belong to update and deprovision only.
    assert last.instance_usable is None and last.update_repeatable is None and last.retry_after is None
    with pytest.raises(NotFound):
        engine.fetch_instance(fetch_instance(iid))
