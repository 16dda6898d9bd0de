"""The engine's read paths (polls, GET instance and binding, idle driver) never wait for a writer."""

from __future__ import annotations

import pytest
from engine_testkit import (
    EngineFactory,
    bind_request,
    fetch_binding,
    fetch_instance,
    last_op,
    new_id,
    provision_request,
    update_request,
)
from sqlalchemy import update

from openbroker_aliyun.domain import OperationKind, OperationState
from openbroker_aliyun.errors import ConcurrencyError
from openbroker_aliyun.store import database
from openbroker_aliyun.store.tables import instances


def test_reads_answer_while_a_writer_holds_the_sqlite_write_lock(
    make_engine: EngineFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A read that waited for the lock would fail after 2 s instead of 30 s.
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT", 2.0)
    engine, _ = make_engine()
    iid, bid = new_id(), new_id()
    engine.provision(provision_request(iid, parameters={"size": 3}))
    engine.bind(bind_request(iid, bid))
    with engine.store.engine.begin() as writer:
        # BEGIN IMMEDIATE plus a write: the database's one write lock is taken.
        writer.execute(update(instances).where(instances.c.id == iid).values(space_guid="elsewhere"))
        assert engine.last_operation(last_op(iid)).state == OperationState.SUCCEEDED
        assert engine.last_operation(last_op(iid, bid)).state == OperationState.SUCCEEDED
        assert engine.fetch_instance(fetch_instance(iid)).parameters["size"] == 3
        assert engine.fetch_binding(fetch_binding(iid, bid)).credentials is not None
        assert engine.ready()
        # Nothing is due: the driver's round is a read, not a claim.
        assert engine.drive_once() == 0


def test_get_instance_during_an_update_is_a_concurrency_error(make_engine: EngineFactory) -> None:
    engine, _ = make_engine(async_kinds=frozenset({OperationKind.UPDATE}), steps={OperationKind.UPDATE: 3})
    iid = new_id()
    engine.provision(provision_request(iid))
    engine.update(update_request(iid, parameters={"size": 4}))
    with pytest.raises(ConcurrencyError):
        engine.fetch_instance(fetch_instance(iid))
