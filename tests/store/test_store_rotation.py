"""Key rotation while the broker keeps writing: no row is left on the old key, no write is lost.

Rotation rewrites each row with a compare-and-set; a row a writer changed meanwhile is
read again, and after every pass the store is read again so that the rows still on an
old key get another pass. These tests race it against real writers on SQLite,
PostgreSQL and MariaDB, then open the store with the new key alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy import select
from store_rows import SECRET, add_instance_with_secrets

from openbroker_aliyun.store import FieldCipher, RotationReport, Store, generate_key
from openbroker_aliyun.store.tables import ENCRYPTED_COLUMNS

INSTANCES = 12
WRITERS = 3
VALUES_PER_INSTANCE = 6  # 2 instance columns, 3 binding columns, 1 operation column


@pytest.fixture(params=["postgresql", "mariadb"])
def server_url(request: pytest.FixtureRequest) -> str:
    """A fresh database on a server: there a writer can commit between the rotation's read of
    a row and its compare-and-set. (SQLite's read-write transactions take the write lock
    up front, so on SQLite no writer ever gets in between.)"""
    name = "postgres_database" if request.param == "postgresql" else "mysql_database"
    return str(request.getfixturevalue(name))


def _seeded(url: str, key: str) -> list[str]:
    store = Store.open(url, encryption_keys=[key])
    try:
        return [add_instance_with_secrets(store) for _ in range(INSTANCES)]
    finally:
        store.close()


def _write_details(store: Store, instance_id: str, n: int, *, binding_too: bool = True) -> None:
    """What a broker step does: lock the instance, save new details (and its binding's)."""

    def write(tx: Any) -> None:
        stored = tx.instance(instance_id, lock=True)
        stored.record.details = {"admin_password": SECRET, "n": n}
        tx.save_instance(stored)
        if not binding_too:
            return
        binding = tx.binding(instance_id, "b-" + instance_id, lock=True)
        binding.record.details = {"user_password": SECRET, "n": n}
        tx.save_binding(binding)

    store.transact(write)


def _details(store: Store, instance_id: str) -> tuple[Any, Any, Any, Any]:
    def read(tx: Any) -> tuple[Any, Any, Any, Any]:
        instance = tx.instance(instance_id)
        binding = tx.binding(instance_id, "b-" + instance_id)
        operation = tx.operation(instance.operation_id)
        return instance.record.details, binding.record.details, binding.result, operation.parameters

    return store.read(read)  # type: ignore[no-any-return]


def _stored_values(store: Store) -> Iterator[str]:
    with store.engine.connect() as connection:
        for table, _keys, columns in ENCRYPTED_COLUMNS:
            for row in connection.execute(select(*(table.c[name] for name in columns))):
                yield from (value for value in row if value is not None)


def test_rotation_racing_live_writers_leaves_every_row_on_the_new_key(store_url: str) -> None:
    old, new = generate_key(), generate_key()
    ids = _seeded(store_url, old)
    # The broker's processes, restarted with the new key first, keep writing meanwhile.
    writers = [Store.open(store_url, encryption_keys=[new, old]) for _ in range(WRITERS)]
    rotating = Store.open(store_url, encryption_keys=[new, old])
    stop = threading.Event()
    last: dict[str, int] = {}
    started = threading.Barrier(WRITERS + 1)
    errors: list[BaseException] = []

    def keep_writing(store: Store, mine: list[str]) -> None:
        try:
            for n in range(1, 100_000):  # bounded; stops when the rotation is over
                for instance_id in mine:
                    _write_details(store, instance_id, n)
                    last[instance_id] = n
                if n == 1:
                    started.wait(60)
                if stop.is_set():
                    return
        except BaseException as error:  # reported by the assertion below
            errors.append(error)
            started.abort()

    threads = [
        threading.Thread(target=keep_writing, args=(store, ids[index::WRITERS]))
        for index, store in enumerate(writers)
    ]
    try:
        for thread in threads:
            thread.start()
        started.wait(60)  # every writer has written once: the rotation starts among writes
        report = rotating.rotate_keys()
    finally:
        stop.set()
        for thread in threads:
            thread.join(120)
        for store in (*writers, rotating):
            store.close()
    assert errors == []
    assert (report.remaining_on_old_key, report.remaining, report.complete) == (0, (), True)
    # Every value was counted once: rewritten by the rotation, or found on the new key
    # (written by a writer before the rotation reached it).
    assert report.rewritten + report.already_current == INSTANCES * VALUES_PER_INSTANCE
    assert report.rewritten > 0

    only_new = Store.open(store_url, encryption_keys=[new])
    try:
        new_cipher = FieldCipher([new])
        assert all(new_cipher.is_current(value) for value in _stored_values(only_new))
        for instance_id in ids:
            details, binding_details, result, parameters = _details(only_new, instance_id)
            # No write was lost to the rotation: each row holds its writer's last value.
            assert details == {"admin_password": SECRET, "n": last[instance_id]}
            assert binding_details == {"user_password": SECRET, "n": last[instance_id]}
            assert result == {"credentials": {"password": SECRET}}
            assert parameters == {"password": SECRET}
    finally:
        only_new.close()


class RacingCipher(FieldCipher):
    """The rotating store's cipher, with a race made to happen on purpose.

    Just before the rotation re-encrypts the details of ``instance_id`` (after it read the
    row, before its compare-and-set), ``writer``, another connection configured with the
    old key only (a process not yet restarted), commits new details to that row, ``times``
    times. Only the timing is arranged; the writes and the compare-and-set are real.
    """

    def __init__(self, keys: list[str], writer: Store, instance_id: str, times: int) -> None:
        super().__init__(keys)
        self.writer, self.instance_id, self.left, self.written = writer, instance_id, times, 0

    def reseal(self, stored: str, where: str) -> str | None:
        if self.left > 0 and where.startswith("osb_instances.details") and self.instance_id in where:
            self.left -= 1
            self.written += 1
            _write_details(self.writer, self.instance_id, self.written, binding_too=False)
        return super().reseal(stored, where)


def _rotate_racing(
    url: str, old: str, new: str, instance_id: str, times: int, **options: Any
) -> RotationReport:
    """Rotate to ``new`` while a process with ``old`` alone wins ``times`` races on one row."""
    old_only = Store.open(url, encryption_keys=[old])
    rotating = Store.open(url, encryption_keys=[new, old])
    racing = RacingCipher([new, old], old_only, instance_id, times)
    rotating.cipher = racing
    try:
        return rotating.rotate_keys(**options)
    finally:
        rotating.close()
        old_only.close()


@pytest.mark.services
def test_a_row_that_keeps_losing_races_gets_later_passes_until_it_is_rotated(server_url: str) -> None:
    old, new = generate_key(), generate_key()
    ids = _seeded(server_url, old)
    # More lost races than one pass tries a row: the old rotation gave up on it silently.
    report = _rotate_racing(server_url, old, new, ids[0], times=10)
    assert (report.remaining_on_old_key, report.remaining, report.complete) == (0, (), True)
    only_new = Store.open(server_url, encryption_keys=[new])
    try:
        assert all(FieldCipher([new]).is_current(value) for value in _stored_values(only_new))
        # All ten races happened, and the writer's last details survived: the rotation
        # never wrote an older value over a newer one.
        assert _details(only_new, ids[0])[0] == {"admin_password": SECRET, "n": 10}
    finally:
        only_new.close()


@pytest.mark.services
def test_rows_left_on_an_old_key_are_counted_and_named(server_url: str) -> None:
    old, new = generate_key(), generate_key()
    ids = _seeded(server_url, old)
    # A process with the old key first that never stops rewriting one instance.
    report = _rotate_racing(server_url, old, new, ids[0], times=1_000_000, max_rounds=2)
    # The instance row's two values (parameters, details) are still on the old key.
    assert report.remaining_on_old_key == 2
    assert report.remaining == (f"osb_instances row {ids[0]!r}",)
    assert not report.complete
    assert report.rewritten == INSTANCES * VALUES_PER_INSTANCE - 2
    for text in report.remaining:
        assert old not in text and new not in text and SECRET not in text


# -- the operator's command -------------------------------------------------------------------


def _rotate_keys_command(url: str, keys: str) -> subprocess.CompletedProcess[str]:
    """``rds-broker rotate-keys``, the console script, with the store's settings alone (as an
    operator's task may have them: the other settings' problems are only mentioned)."""
    env = {
        key: value for key, value in os.environ.items() if not key.upper().startswith(("BROKER_", "ALIBABA"))
    }
    env.update(BROKER_STATE_URL=url, BROKER_ENCRYPTION_KEYS=keys)
    command = [str(Path(sys.executable).with_name("rds-broker")), "rotate-keys"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    for secret in (*keys.split(","), SECRET):
        assert secret not in output
    return result


def test_the_rotate_keys_command_reports_the_counts_and_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    old, new, unknown = generate_key(), generate_key(), generate_key()
    not_migrated = _rotate_keys_command(url, f"{new},{old}")
    assert not_migrated.returncode == 78 and "run `rds-broker migrate`" in not_migrated.stderr

    instance_id = _seeded(url, old)[0]
    # Without the old key the rows cannot be read: the first is named (never a key).
    missing_key = _rotate_keys_command(url, f"{new},{unknown}")
    assert missing_key.returncode == 78 and "osb_" in missing_key.stderr

    rotated = _rotate_keys_command(url, f"{new},{old}")
    assert rotated.returncode == 0, rotated.stderr
    total = INSTANCES * VALUES_PER_INSTANCE
    assert f"rewritten={total} already_current=0 remaining_on_old_key=0" in rotated.stdout
    assert "other settings have problems" in rotated.stderr
    again = _rotate_keys_command(url, f"{new},{old}")
    assert f"rewritten=0 already_current={total} remaining_on_old_key=0" in again.stdout
    only_new = Store.open(url, encryption_keys=[new])
    try:
        assert _details(only_new, instance_id)[0] == {"admin_password": SECRET}
    finally:
        only_new.close()
