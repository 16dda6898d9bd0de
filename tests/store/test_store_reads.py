"""Read-only paths on every database: no lock, no wait for writers, only the columns shown."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from store_rows import SECRET, add_instance_with_secrets, now

from openbroker_aliyun.domain import OperationKind, OperationState, RequestInfo
from openbroker_aliyun.store import (
    BindingStatus,
    DecryptionError,
    InstanceStatus,
    Store,
    StoreConfigError,
    StoredOperation,
    StoreFailure,
    database,
    generate_key,
)
from openbroker_aliyun.store.database import make_engine
from openbroker_aliyun.store.direct import DirectQuery, KeptConnections
from openbroker_aliyun.store.lookups import OPERATION_LOOKUPS
from openbroker_aliyun.store.tables import bindings, instances, operations


@pytest.fixture
def store(store_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    # A read that waited for the write lock would fail after 2 s instead of hanging 30 s.
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT", 2.0)
    opened = Store.open(store_url, encryption_keys=[generate_key()])
    yield opened
    opened.close()


def _operation(instance_id: str, binding_id: str | None = None, **fields: object) -> StoredOperation:
    at = now() - timedelta(seconds=1)
    values: dict[str, object] = {
        "id": uuid.uuid4().hex,
        "instance_id": instance_id,
        "binding_id": binding_id,
        "kind": OperationKind.UPDATE,
        "state": OperationState.IN_PROGRESS,
        "plan_id": "plan",
        "started_at": at,
        "updated_at": at,
        # Not due for a while: the driver has nothing to claim.
        "next_run_at": at + timedelta(hours=1),
        "info": RequestInfo(),
    }
    values.update(fields)
    return StoredOperation(**values)  # type: ignore[arg-type]


def test_reads_never_wait_for_a_writer(store: Store) -> None:
    iid = add_instance_with_secrets(store)
    with store.engine.begin() as writer:
        # An open write: SQLite's write lock is held, and the row lock on the others.
        writer.execute(update(instances).where(instances.c.id == iid).values(plan_id="changed"))
        assert store.read(lambda reader: reader.instance(iid)).record.plan_id == "plan"  # type: ignore[union-attr]
        snapshot = store.read(lambda reader: reader.instance_snapshot(iid))
        assert snapshot is not None and snapshot.plan_id == "plan"
        lookup = store.operation_lookup(iid, None, None)
        assert lookup.operation is not None and lookup.operation.state == OperationState.SUCCEEDED
        assert store.ping()
        # A driver with nothing due takes no write lock either.
        assert store.claim_due("idle-driver", now(), now() + timedelta(seconds=30), 10) == []
        assert store.operation_counts()[("provision", "succeeded")] == 1
    assert store.read(lambda reader: reader.instance(iid)).record.plan_id == "changed"  # type: ignore[union-attr]


def test_claims_still_take_what_is_due(store: Store) -> None:
    iid = add_instance_with_secrets(store)
    due = _operation(iid, next_run_at=now() - timedelta(seconds=1))
    store.transact(lambda tx: tx.add_operation(due))
    assert store.claim_due("driver", now(), now() + timedelta(seconds=30), 10) == [due.id]
    assert store.claim_due("other", now(), now() + timedelta(seconds=30), 10) == []


def test_operation_lookup_of_an_instance(store: Store) -> None:
    assert store.operation_lookup("no-such-instance", None, None).instance_found is False
    iid, other = add_instance_with_secrets(store), add_instance_with_secrets(store)
    current = store.operation_lookup(iid, None, None)
    assert current.instance_found and current.binding_found
    assert current.operation is not None
    assert (current.operation.instance_id, current.operation.binding_id) == (iid, None)
    assert (current.operation.kind, current.operation.state) == (
        OperationKind.PROVISION,
        OperationState.SUCCEEDED,
    )

    failed = _operation(
        iid,
        state=OperationState.FAILED,
        description="the update failed",
        instance_usable=True,
        update_repeatable=False,
        retry_after=2.5,
    )
    store.transact(lambda tx: tx.add_operation(failed))
    by_token = store.operation_lookup(iid, None, failed.id).operation
    assert by_token is not None
    assert (by_token.id, by_token.state, by_token.description) == (
        failed.id,
        OperationState.FAILED,
        "the update failed",
    )
    # Real booleans and a float whatever the driver returns (SQLite and MySQL: 0 and 1).
    assert by_token.instance_usable is True and by_token.update_repeatable is False
    assert by_token.retry_after == 2.5 and not by_token.in_progress
    # The current operation is still the provision.
    assert store.operation_lookup(iid, None, None).operation.id == current.operation.id  # type: ignore[union-attr]

    # A token of another instance is found, and seen to be another instance's.
    foreign = store.operation_lookup(other, None, None).operation
    assert foreign is not None
    assert store.operation_lookup(iid, None, foreign.id).operation.instance_id == other  # type: ignore[union-attr]
    unknown = store.operation_lookup(iid, None, "no-such-operation")
    assert unknown.instance_found and unknown.operation is None


def test_operation_lookup_of_a_binding(store: Store) -> None:
    iid = add_instance_with_secrets(store)
    bid = "b-" + iid
    assert store.operation_lookup(iid, "no-such-binding", None).binding_found is False
    idle = store.operation_lookup(iid, bid, None)
    assert idle.instance_found and idle.binding_found and idle.operation is None

    bind = _operation(iid, bid, kind=OperationKind.BIND, retry_after=None)

    def start(tx):  # type: ignore[no-untyped-def]
        tx.add_operation(bind)
        tx.connection.execute(
            update(bindings)
            .where(bindings.c.instance_id == iid, bindings.c.id == bid)
            .values(operation_id=bind.id, status=str(BindingStatus.BINDING))
        )

    store.transact(start)
    for token in (None, bind.id):
        found = store.operation_lookup(iid, bid, token).operation
        assert found is not None
        assert (found.id, found.binding_id, found.kind, found.in_progress) == (
            bind.id,
            bid,
            OperationKind.BIND,
            True,
        )
        assert found.retry_after is None and found.instance_usable is None


def test_lean_reads_decrypt_only_what_they_show(store: Store) -> None:
    iid = add_instance_with_secrets(store)
    bid = "b-" + iid
    with store.engine.begin() as connection:
        # Columns the answers do not show, made unreadable: the lean reads must not touch them.
        connection.execute(update(instances).where(instances.c.id == iid).values(details="unreadable"))
        connection.execute(update(bindings).where(bindings.c.id == bid).values(details="unreadable"))
        connection.execute(update(operations).where(operations.c.instance_id == iid).values(parameters="x"))
    with pytest.raises(DecryptionError):
        store.read(lambda reader: reader.instance(iid))

    lookup = store.operation_lookup(iid, None, None)
    assert lookup.operation is not None and lookup.operation.state == OperationState.SUCCEEDED
    instance = store.read(lambda reader: reader.instance_snapshot(iid))
    assert instance is not None
    assert instance.status == InstanceStatus.READY
    assert instance.parameters == {"password": SECRET, "size": 1}
    assert (instance.operation_kind, instance.operation_state) == (
        OperationKind.PROVISION,
        OperationState.SUCCEEDED,
    )
    binding = store.read(lambda reader: reader.binding_snapshot(iid, bid))
    assert binding is not None
    assert binding.status == BindingStatus.BOUND
    assert binding.parameters == {"note": SECRET}
    assert binding.result == {"credentials": {"password": SECRET}}
    assert store.read(lambda reader: reader.instance_snapshot("no-such-instance")) is None
    assert store.read(lambda reader: reader.binding_snapshot(iid, "no-such-binding")) is None


def test_direct_query_errors_are_sqlalchemy_errors_without_values(store_url: str) -> None:
    # No migration: the tables do not exist, so the database rejects the statement.
    engine = make_engine(store_url)
    try:
        query = DirectQuery(engine, OPERATION_LOOKUPS[(True, True)])
        values = {"instance_id": "instance-" + SECRET, "binding_id": "binding-" + SECRET, "operation": SECRET}
        with pytest.raises(SQLAlchemyError) as raised:
            query.first(values)
        assert isinstance(raised.value, DBAPIError)
        assert SECRET not in str(raised.value)
        # The pooled connection is still usable.
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        engine.dispose()


def test_sqlite_file_lookups_keep_their_own_connections(tmp_path: object) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/state.db", encryption_keys=[generate_key()])
    try:
        kept = store._kept
        assert kept is not None
        iid = add_instance_with_secrets(store)
        for _ in range(3):
            assert store.operation_lookup(iid, None, None).instance_found
        # One at a time: one connection, reused, in autocommit mode (no transaction left open).
        assert len(kept._idle) == 1
        connection = kept._idle[0]
        assert not connection.in_transaction
        # A write by the store's own engine is seen by the next lookup at once.
        store.transact(lambda tx: tx.connection.execute(update(instances).values(plan_id="changed")))
        assert store.operation_lookup("no-such-instance", None, None).instance_found is False
        assert kept._idle == [connection]
    finally:
        store.close()
    assert kept._idle == []
    with pytest.raises(Exception, match="closed"):
        connection.execute("SELECT 1")


def test_a_failed_lookup_closes_its_kept_connection(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/state.db")  # no tables: the statement fails
    try:
        assert KeptConnections.suit(engine)
        kept = KeptConnections(engine)
        query = DirectQuery(engine, OPERATION_LOOKUPS[(False, False)], kept)
        with pytest.raises(DBAPIError) as raised:
            query.first({"instance_id": "instance-" + SECRET, "binding_id": None, "operation": None})
        assert SECRET not in str(raised.value)
        assert kept._idle == []
    finally:
        engine.dispose()


def test_direct_queries_with_values_of_their_own(store: Store) -> None:
    iid = add_instance_with_secrets(store)
    named = DirectQuery(store.reader, select(instances.c.id).where(instances.c.id == bindparam("wanted")))
    fixed = DirectQuery(store.reader, select(instances.c.id).where(instances.c.id == iid))
    # Positional drivers (sqlite3) get their tuple straight from the caller's values.
    assert named._plain == (store.reader.dialect.name == "sqlite") and not fixed._plain
    assert named.first({"wanted": iid}) == (iid,) == fixed.first({})
    assert named.first({"wanted": "no-such-instance"}) is None


def test_kept_connections_do_not_cross_a_fork(tmp_path: object) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/state.db", encryption_keys=[generate_key()])
    try:
        iid = add_instance_with_secrets(store)
        assert store.operation_lookup(iid, None, None).instance_found
        kept = store._kept
        assert kept is not None and len(kept._idle) == 1
        pid = os.fork()
        if pid == 0:  # the child: a fresh connection of its own, then out without cleanup
            ok = kept._idle == [] and store.operation_lookup(iid, None, None).instance_found
            os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert len(kept._idle) == 1
    finally:
        store.close()


def test_in_memory_and_server_lookups_use_the_pool() -> None:
    memory = make_engine("sqlite://")
    try:
        assert not KeptConnections.suit(memory)  # one connection holds the whole database
    finally:
        memory.dispose()


def test_read_transactions_are_read_only_on_postgresql(postgres_database: str) -> None:
    store = Store.open(postgres_database, encryption_keys=[generate_key()])
    try:
        iid = add_instance_with_secrets(store)
        with pytest.raises(StoreFailure, match="ReadOnlySqlTransaction"):
            store.read(
                lambda reader: reader.connection.execute(
                    update(instances).where(instances.c.id == iid).values(plan_id="changed")
                )
            )
        # The pooled connection goes back read-write: writes still work.
        store.transact(
            lambda tx: tx.connection.execute(
                update(instances).where(instances.c.id == iid).values(plan_id="x")
            )
        )
        assert store.read(lambda reader: reader.instance(iid)).record.plan_id == "x"  # type: ignore[union-attr]
    finally:
        store.close()


def test_sqlite_reads_have_connections_of_their_own(tmp_path: object) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/state.db", encryption_keys=[generate_key()])
    try:
        assert store.reader is not store.engine
        assert isinstance(store.reader.dialect, database.DeferredSQLiteDialect)
        assert isinstance(store.engine.dialect, database.ImmediateSQLiteDialect)
    finally:
        store.close()
    memory = Store.open("sqlite://", encryption_keys=[generate_key()])
    try:
        # One connection holds an in-memory database: reads share it.
        assert memory.reader is memory.engine
        iid = add_instance_with_secrets(memory)
        assert memory.operation_lookup(iid, None, None).instance_found
    finally:
        memory.close()


@pytest.mark.parametrize("url", ["sqlite+pysqlcipher:///state.db", "sqlite+aiosqlite:///state.db"])
def test_other_sqlite_drivers_are_refused(url: str) -> None:
    with pytest.raises(StoreConfigError, match="sqlite3"):
        make_engine(url)
