"""What the store raises when the database refuses, fails or cannot be reached.

On each real database (SQLite, PostgreSQL, MariaDB): a value the database cannot store
is a ``StoreValueError`` (the engine answers 400 and logs it once, without the value),
never the store "unavailable"; what cannot be reached is ``StoreUnavailable`` (503 with
``Retry-After``); other failures are ``StoreFailure``. Then the pieces on their own: the
classification of the drivers' errors, the outage tracker, the backoff.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pymysql
import pytest
from sqlalchemy.exc import DataError, IntegrityError, InterfaceError, OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from store_rows import add_instance

from openbroker_aliyun.broker import Done, InProgress, ServiceBroker
from openbroker_aliyun.catalog.model import Catalog, Plan, Service
from openbroker_aliyun.domain import InstanceOperation, OperationKind, ProvisionRequest, RequestInfo
from openbroker_aliyun.engine import Engine, build_engine
from openbroker_aliyun.engine.settings import jittered_backoff
from openbroker_aliyun.errors import BadRequest, ServiceUnavailable
from openbroker_aliyun.store import (
    OutageTracker,
    Store,
    StoreFailure,
    StoreUnavailable,
    StoreValueError,
    database,
    generate_key,
)
from openbroker_aliyun.store.database import store_error

SERVICE_ID = "4c2e1f0a-9b8d-4e7c-a6b5-0d1e2f3a4b5c"
PLAN_ID = "5d3f2a1b-0c9e-4f8d-b7c6-1e2f3a4b5c6d"
SLOW_PLAN_ID = "6e4a3b2c-1d0f-4a9e-b8d7-2f3a4b5c6d7e"
LONG_ID = "x" * 300  # the id columns are VARCHAR(255)
NUL_ID = "nul\x00id"  # PostgreSQL's text cannot hold NUL; MySQL's and SQLite's can
SURROGATE_ID = "half\ud800pair"  # what JSON's "\ud800" decodes to: no encoding can send it


class QuickBroker(ServiceBroker):
    """Provision runs in the request (or, for the ``slow`` plan, in the background)."""

    catalog = Catalog(
        services=(
            Service(
                id=SERVICE_ID,
                name="quick",
                description="A service for store error tests",
                bindable=False,
                plans=(
                    Plan(id=PLAN_ID, name="quick", description="Quick"),
                    Plan(id=SLOW_PLAN_ID, name="slow", description="Background steps"),
                ),
            ),
        )
    )
    description = "creating"

    def is_async(self, kind: OperationKind, plan: Plan, accepts_incomplete: bool) -> bool:
        return plan.name == "slow"

    def provision(self, op: InstanceOperation) -> InProgress | Done:
        return Done() if op.plan_id == PLAN_ID else InProgress(self.description, retry_after=0.01)

    def deprovision(self, op: InstanceOperation) -> Done:
        return Done()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = Store.open(store_url, encryption_keys=[generate_key()])
    yield opened
    opened.close()


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    built = build_engine(
        QuickBroker(), state_url=store_url, encryption_keys=[generate_key()], run_driver=False
    )
    yield built
    built.close()


def _backend(store: Store) -> str:
    return store.engine.dialect.name


# ------------------------------------------------------- values the database refuses


@pytest.mark.parametrize("instance_id", [LONG_ID, NUL_ID, SURROGATE_ID], ids=["long", "nul", "surrogate"])
def test_a_value_the_database_refuses_is_a_value_error(store: Store, instance_id: str) -> None:
    refused = {
        LONG_ID: {"postgresql", "mysql"},  # SQLite keeps any length
        NUL_ID: {"postgresql"},
        SURROGATE_ID: {"sqlite", "postgresql", "mysql"},  # no driver encodes it
    }[instance_id]
    if _backend(store) not in refused:
        add_instance(store, instance_id)
        found = store.read(lambda reader: reader.instance(instance_id))
        assert found is not None and found.record.id == instance_id
        return
    with pytest.raises(StoreValueError) as raised:
        add_instance(store, instance_id)
    error = raised.value
    if instance_id != SURROGATE_ID:  # refused by the database: the statement is known
        assert (error.statement, error.table) == ("INSERT", "osb_instances")
    assert instance_id not in str(error) and "x" * 50 not in str(error)
    assert error.__suppress_context__  # the driver's message (which may quote it) is not shown
    assert not store.outage.down  # the database answered: no outage


def test_a_lookup_of_a_value_the_database_cannot_take_is_a_value_error(store: Store) -> None:
    """last_operation's direct statement: NUL on PostgreSQL, a lone surrogate anywhere."""
    with pytest.raises(StoreValueError):
        store.operation_lookup(SURROGATE_ID, None, None)
    if _backend(store) == "postgresql":
        with pytest.raises(StoreValueError) as raised:
            store.operation_lookup(NUL_ID, None, None)
        assert raised.value.statement == "SELECT"
    else:
        assert not store.operation_lookup(NUL_ID, None, None).instance_found
    assert not store.operation_lookup(LONG_ID, None, None).instance_found  # comparing is fine
    assert not store.outage.down


def test_the_engine_answers_a_value_the_store_refuses_400_and_logs_it_once(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="openbroker_aliyun")
    request = ProvisionRequest(
        instance_id="instance-1", service_id=SERVICE_ID, plan_id=PLAN_ID, organization_guid=SURROGATE_ID
    )
    with pytest.raises(BadRequest) as raised:
        engine.provision(request)
    assert "cannot store" in raised.value.description
    long_id = ProvisionRequest(instance_id=LONG_ID, service_id=SERVICE_ID, plan_id=PLAN_ID)
    if engine.store.engine.dialect.name == "sqlite":
        assert engine.provision(long_id).status == 201
    else:
        with pytest.raises(BadRequest) as raised:
            engine.provision(long_id)
        assert LONG_ID not in raised.value.description
    refused = [record for record in caplog.records if "cannot be stored" in record.getMessage()]
    assert len(refused) == (1 if engine.store.engine.dialect.name == "sqlite" else 2)
    assert all(record.levelno == logging.ERROR for record in refused)
    assert refused[-1].__dict__.get("statement") in (None, "INSERT")
    assert all(SURROGATE_ID not in str(record.__dict__) for record in caplog.records)
    assert all("x" * 50 not in str(record.__dict__) for record in refused)


def test_a_step_outcome_postgresql_refuses_fails_the_operation(postgres_database: str) -> None:
    """A background step's description with a NUL: recorded as failed, not retried forever."""
    broker = QuickBroker()
    engine = build_engine(
        broker, state_url=postgres_database, encryption_keys=[generate_key()], run_driver=False
    )
    try:
        info = RequestInfo(accepts_incomplete=True)
        request = ProvisionRequest(instance_id="i-1", service_id=SERVICE_ID, plan_id=SLOW_PLAN_ID, info=info)
        started = engine.provision(request)
        assert started.status == 202
        broker.description = "half\x00done"
        assert engine.drive_once() == 1
        found = engine.store.operation_lookup("i-1", None, None).operation
        assert found is not None and str(found.state) == "failed"
        assert found.description == "The broker's step returned a value its state store cannot store."
    finally:
        engine.close()


# ------------------------------------------------------------------ SQLite failures


def test_sqlite_busy_is_unavailable_and_a_missing_table_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="openbroker_aliyun")
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT", 0.2)
    path = tmp_path / "state.db"
    store = Store.open(f"sqlite:///{path}", encryption_keys=[generate_key()])
    engine = Engine(QuickBroker(), store, run_driver=False)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
        with pytest.raises(ServiceUnavailable) as raised:
            engine.provision(ProvisionRequest(instance_id="i-1", service_id=SERVICE_ID, plan_id=PLAN_ID))
        assert raised.value.headers() == {"Retry-After": "5"}
        with pytest.raises(StoreUnavailable) as unavailable:
            add_instance(store, "i-2")
        assert unavailable.value.code == "SQLITE_BUSY"
        assert store.outage.down
        holder.execute("ROLLBACK")
        add_instance(store, "i-3")
        assert not store.outage.down
        messages = [record.getMessage() for record in caplog.records]
        assert len(messages) == 2, messages
        assert messages[0] == "state store unreachable"
        assert messages[1].startswith("state store reachable again")

        holder.execute("DROP TABLE osb_bindings")
        with pytest.raises(StoreFailure) as failed:
            store.read(lambda reader: reader.bindings_of("i-3"))
        assert (failed.value.statement, failed.value.table) == ("SELECT", "osb_bindings")
        assert not store.outage.down
    finally:
        holder.close()
        engine.close()


# ------------------------------------------------------------- the pieces on their own


def _mysql(kind: type[Exception], number: int) -> Exception:
    return kind(number, "message from the server")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        # MySQL: OperationalError holds outages and errors of the statement alike.
        (OperationalError("SELECT", {}, _mysql(pymysql.err.OperationalError, 2003)), StoreUnavailable),
        (OperationalError("SELECT", {}, _mysql(pymysql.err.OperationalError, 2013)), StoreUnavailable),
        (OperationalError("SELECT", {}, _mysql(pymysql.err.OperationalError, 1053)), StoreUnavailable),
        (OperationalError("UPDATE", {}, _mysql(pymysql.err.OperationalError, 1213)), StoreUnavailable),
        (OperationalError("SELECT", {}, _mysql(pymysql.err.OperationalError, 1054)), StoreFailure),
        (OperationalError("INSERT", {}, _mysql(pymysql.err.OperationalError, 1366)), StoreValueError),
        (InterfaceError("SELECT", {}, _mysql(pymysql.err.InterfaceError, 0)), StoreUnavailable),
        (DataError("INSERT", {}, _mysql(pymysql.err.DataError, 1406)), StoreValueError),
        (IntegrityError("INSERT", {}, _mysql(pymysql.err.IntegrityError, 1062)), StoreFailure),
        # PostgreSQL: by SQLSTATE class.
        (OperationalError("SELECT", {}, psycopg.errors.AdminShutdown()), StoreUnavailable),
        (OperationalError("SELECT", {}, psycopg.errors.TooManyConnections()), StoreUnavailable),
        (OperationalError("SELECT", {}, psycopg.OperationalError("connection refused")), StoreUnavailable),
        (OperationalError("INSERT", {}, psycopg.errors.ProgramLimitExceeded()), StoreValueError),
        (DataError("INSERT", {}, psycopg.errors.StringDataRightTruncation()), StoreValueError),
        (ProgrammingError("SELECT", {}, psycopg.errors.UndefinedColumn()), StoreFailure),
        (PoolTimeout("QueuePool limit reached"), StoreUnavailable),
        (UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"), StoreValueError),
    ],
)
def test_driver_errors_are_classified(error: Exception, expected: type[Exception]) -> None:
    found = store_error(error)  # type: ignore[arg-type]
    assert type(found) is expected
    assert "message from the server" not in str(found)


def test_the_outage_tracker_logs_each_transition_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="openbroker_aliyun.store")
    tracker = OutageTracker()
    woken: list[int] = []
    tracker.when_reachable(lambda: woken.append(1))
    tracker.reachable()  # no outage: nothing happens

    def fail_often() -> None:
        for _ in range(50):
            tracker.unreachable(StoreUnavailable(code="08006"))

    threads = [threading.Thread(target=fail_often) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert tracker.down and (tracker.down_for() or 0) >= 0
    for _ in range(3):
        tracker.reachable()
    assert not tracker.down and tracker.down_for() is None
    assert woken == [1]
    records = caplog.records
    assert [record.levelno for record in records] == [logging.ERROR, logging.WARNING]
    assert records[0].getMessage() == "state store unreachable"
    assert records[0].__dict__["error_code"] == "08006"
    assert records[1].__dict__["failed_calls"] == 200


def test_the_backoff_doubles_up_to_its_cap_with_jitter() -> None:
    for failures, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (5, 8.0), (6, 10.0), (1000, 10.0)]:
        waits = [jittered_backoff(failures, 0.5, 10.0) for _ in range(50)]
        assert all(ceiling / 2 <= wait <= ceiling for wait in waits), (failures, waits)
        assert len(set(waits)) > 1  # jittered
