"""Schema migrations on SQLite, PostgreSQL and MariaDB: created, idempotent, concurrent-safe."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from sqlalchemy import inspect

from openbroker_aliyun.store import Store, StoreConfigError, generate_key
from openbroker_aliyun.store.database import parse_url
from openbroker_aliyun.store.migrate import current_revision, head_revision

TABLES = {"osb_instances", "osb_bindings", "osb_operations", "osb_alembic_version"}


def test_open_creates_the_schema_at_head_and_again_is_a_no_op(store_url: str) -> None:
    key = generate_key()
    store = Store.open(store_url, encryption_keys=[key])
    try:
        assert current_revision(store.engine) == head_revision()
        assert set(inspect(store.engine).get_table_names()) >= TABLES
        assert store.ping()
    finally:
        store.close()
    again = Store.open(store_url, encryption_keys=[key])
    try:
        assert current_revision(again.engine) == head_revision()
    finally:
        again.close()


def _open_at_once(url: str, key: str, count: int = 4) -> tuple[list[Store], list[BaseException]]:
    """``count`` threads open a store on ``url`` at the same moment."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []
    stores: list[Store] = []

    def start() -> None:
        barrier.wait(10)
        try:
            stores.append(Store.open(url, encryption_keys=[key]))
        except BaseException as error:  # collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return stores, errors


def test_concurrent_start_ups_migrate_once_without_errors(store_url: str) -> None:
    stores, errors = _open_at_once(store_url, generate_key())
    try:
        assert errors == []
        assert len(stores) == 4
        assert current_revision(stores[0].engine) == head_revision()
    finally:
        for store in stores:
            store.close()


def test_new_sqlite_files_opened_at_once_all_end_in_wal_mode(tmp_path: Path) -> None:
    """The switch to WAL does not wait on the busy timeout: openers of a new file retry it
    (before they did, one round in three failed with "database is locked")."""
    key = generate_key()
    for round_number in range(10):
        stores, errors = _open_at_once(f"sqlite:///{tmp_path}/new-{round_number}.db", key)
        try:
            assert errors == []
            with stores[0].engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        finally:
            for store in stores:
                store.close()


def test_default_drivers_and_unsupported_databases() -> None:
    assert parse_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert parse_url("mysql://u@h/db").drivername == "mysql+pymysql"
    with pytest.raises(StoreConfigError) as caught:
        parse_url("oracle://scott:tiger-secret@h/db")
    assert "tiger-secret" not in str(caught.value)
    with pytest.raises(StoreConfigError) as caught:
        parse_url("not a url with p4ssword")
    assert "p4ssword" not in str(caught.value)


def test_a_forked_child_uses_its_own_connections(store_url: str) -> None:
    store = Store.open(store_url, encryption_keys=[generate_key()])
    try:
        assert store.ping()  # the parent holds a pooled connection now
        pid = os.fork()
        if pid == 0:  # the child: exit status 0 when the store answers
            os._exit(0 if store.ping() else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert store.ping()  # and the parent's connection still works
    finally:
        store.close()
