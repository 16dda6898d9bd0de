"""Several processes on one store: kill -9 mid-operation, and 50 concurrent provisions twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Iterator

import pytest
from engine_testkit import effect_rows, effects_engine, last_op, provision_request
from sqlalchemy import func, select

from openbroker_aliyun.domain import OperationKind, OperationState
from openbroker_aliyun.engine import Engine
from openbroker_aliyun.store import Store, generate_key
from openbroker_aliyun.store.tables import instances, operations

pytestmark = pytest.mark.slow

WORKER = Path(__file__).resolve().parent / "engine_worker.py"
ROOT = Path(__file__).resolve().parents[2]


def spawn(url: str, key: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), "--state", url, "--key", key, "--effects", url, *extra],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until(condition: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.db'}"
    return str(request.getfixturevalue("postgres_database"))


@pytest.fixture
def reaper() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test started; killed at the end whatever happened."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(30)
        if process.stdout:
            process.stdout.close()
        if process.stderr:
            process.stderr.close()


def test_kill_9_mid_operation_loses_nothing_and_steps_once(
    shared_url: str, reaper: list[subprocess.Popen[str]]
) -> None:
    key = generate_key()
    store = Store.open(shared_url, encryption_keys=[key])
    from engine_testkit import RecordingBroker

    # The requests come from this process; the steps run in the workers.
    front = Engine(RecordingBroker(async_kinds=frozenset(OperationKind)), store, run_driver=False)
    effects = effects_engine(shared_url)
    try:
        first = spawn(shared_url, key, "--steps", "3", "--sleep", "0.3", "--lease", "1.0")
        reaper.append(first)
        assert first.stdout is not None and first.stdout.readline().strip() == "ready"
        iid = str(uuid.uuid4())
        operation = front.provision(provision_request(iid)).operation

        def entered_step_two() -> bool:
            return any(row["phase"] == "enter" and row["step"] == 2 for row in effect_rows(effects))

        wait_until(entered_step_two, 30, "the first worker to reach step 2")
        os.kill(first.pid, signal.SIGKILL)  # while step 2 sleeps inside the broker
        first.wait(30)

        second = spawn(shared_url, key, "--steps", "3", "--lease", "1.0")
        reaper.append(second)
        wait_until(
            lambda: front.last_operation(last_op(iid)).state != OperationState.IN_PROGRESS,
            60,
            "the operation",
        )
        assert front.last_operation(last_op(iid, operation=operation)).state == OperationState.SUCCEEDED
        rows = effect_rows(effects)
        done = Counter(row["step"] for row in rows if row["phase"] == "effect")
        # Every step's effect happened exactly once, though step 2 was started twice.
        assert done == {1: 1, 2: 1, 3: 1}
        entered = [row for row in rows if row["phase"] == "enter" and row["step"] == 2]
        assert [row["pid"] for row in entered] == [first.pid, second.pid]
        with store.engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(operations)).scalar() == 1
    finally:
        effects.dispose()
        store.close()


def test_two_processes_given_the_same_50_concurrent_provisions_create_each_once(
    postgres_database: str, reaper: list[subprocess.Popen[str]]
) -> None:
    key = generate_key()
    store = Store.open(postgres_database, encryption_keys=[key])
    effects = effects_engine(postgres_database)
    ids = [str(uuid.uuid4()) for _ in range(50)]
    try:
        workers = [
            spawn(
                postgres_database,
                key,
                "--steps",
                "1",
                "--lease",
                "10",
                "--ids",
                ",".join(ids),
                "--run-for",
                "120",
            )
            for _ in range(2)
        ]
        reaper.extend(workers)
        reports = []
        for worker in workers:
            out, err = worker.communicate(timeout=240)
            assert worker.returncode == 0, err[-3000:]
            reports.append(json.loads(out.strip().splitlines()[-1]))
        for report in reports:
            assert report["errors"] == []
            assert set(report["answers"]) == set(ids)
            assert {status for status, _ in report["answers"].values()} <= {202, 200}
            assert set(report["states"].values()) == {"succeeded"}
        # Both processes were told the same operation for each instance.
        for iid in ids:
            first, second = (report["answers"][iid] for report in reports)
            if first[0] == 202 and second[0] == 202:
                assert first[1] == second[1]
        with store.engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(instances)).scalar() == 50
            per_instance = connection.execute(
                select(operations.c.instance_id, func.count()).group_by(operations.c.instance_id)
            ).all()
        assert len(per_instance) == 50 and {count for _, count in per_instance} == {1}
        created = Counter(
            row["instance_id"]
            for row in effect_rows(effects)
            if row["phase"] == "effect" and row["step"] == 1
        )
        assert created == Counter({iid: 1 for iid in ids})
    finally:
        effects.dispose()
        store.close()
