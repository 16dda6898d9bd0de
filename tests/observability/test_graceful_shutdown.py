"""SIGTERM to a broker under ``serve`` (real gunicorn): nothing in flight is lost.

While a synchronous provision is inside its step (waiting at the test's gate) and the
driver is inside the step of an async provision (waiting too), the master gets SIGTERM:

* new connections are refused at once (not queued for a worker that will not take them);
* once the gate opens, the request in flight completes with its success status;
* the process exits on its own, before the graceful timeout (no SIGKILL);
* the async operation is left in progress with its lease released: a new process on the
  same state store takes it at once and completes it.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest
import requests
from gated_broker import ASYNC_PLAN, SERVICE_ID, SYNC_PLAN, GatedBroker, step_lines
from observability_support import (
    PASSWORD,
    USER,
    broker_env,
    broker_process,
    free_port,
    wait_for,
)

from openbroker_aliyun.app import create_app, runtime, start_driver, stop_driver
from openbroker_aliyun.testing.client import OSBClient
from openbroker_aliyun.testing.servers import fast_driver_settings, serve_wsgi, throwaway_settings

GRACEFUL_TIMEOUT = 10


def _refused(url: str) -> bool:
    try:
        requests.get(url + "/health/live", timeout=2)
    except requests.ConnectionError:
        return True
    return False


def _waiting(folder: Path, resource_id: str) -> bool:
    return any(rid == resource_id and event == "waiting" for _, _, rid, event in step_lines(folder))


@pytest.mark.slow
def test_sigterm_finishes_requests_in_flight_and_leaves_operations_resumable(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    state_url = f"sqlite:///{tmp_path / 'state.db'}"
    env = broker_env(
        gate,
        state_url,
        free_port(),
        BROKER_WORKERS="1",
        BROKER_THREADS="4",
        BROKER_GRACEFUL_TIMEOUT=str(GRACEFUL_TIMEOUT),
        GATED_MODE="hold",
    )
    with broker_process(gate, env) as old:
        client = OSBClient(old.url, USER, PASSWORD)
        # serve() made a folder for the workers' metrics (none was configured).
        metrics_dir = Path(requests.get(old.url + "/test/process", timeout=10).json()["metrics_dir"])
        assert metrics_dir.is_dir()
        # An async provision whose second step (in the driver) waits at the gate.
        accepted = client.provision("slow-async", SERVICE_ID, ASYNC_PLAN)
        assert accepted.status == 202, accepted.text
        operation = accepted.json["operation"]
        wait_for(lambda: _waiting(gate, "slow-async"), "the driver's step to reach the gate")

        # A synchronous provision whose step (in the request) waits at the gate.
        result: dict[str, Any] = {}

        def slow_request() -> None:
            response = OSBClient(old.url, USER, PASSWORD).provision(
                "slow-sync", SERVICE_ID, SYNC_PLAN, headers={"X-Broker-API-Request-Identity": "rid-in-flight"}
            )
            result["status"] = response.status

        request_thread = threading.Thread(target=slow_request)
        request_thread.start()
        wait_for(lambda: _waiting(gate, "slow-sync"), "the request's step to reach the gate")

        old.terminate()
        wait_for(lambda: _refused(old.url), "new connections to be refused", timeout=GRACEFUL_TIMEOUT)
        assert request_thread.is_alive(), "the request in flight must still be waiting at the gate"

        (gate / "open").touch()
        request_thread.join(timeout=GRACEFUL_TIMEOUT)
        assert result.get("status") == 201, result
        assert old.wait(timeout=GRACEFUL_TIMEOUT + 5) == 0
        lines = old.log_lines()
        messages = [line["message"] for line in lines]

    assert not metrics_dir.exists(), "serve() removes the metrics folder it made"
    old_pid = {pid for pid, _, rid, _ in step_lines(gate) if rid == "slow-async"}
    assert "operation driver stopped" in messages, messages[-20:]
    assert "operation driver still stepping at stop timeout" not in messages
    # The worker ended on its own within the graceful timeout: the master did not kill it.
    assert any(message.startswith("Worker exiting") for message in messages), messages[-20:]
    assert not any("SIGKILL" in message for message in messages)
    # The request's log line carries its identities and ids, written before the exit.
    (line,) = [line for line in lines if line.get("request_identity") == "rid-in-flight"]
    assert line["status"] == 201 and line["instance_id"] == "slow-sync" and line["vcap_request_id"]
    assert line["user"] and line["platform"] == "cloudfoundry"

    # A new process on the same store (mode finish) takes the operation over at once
    # (the lease is a minute long: had it not been released, this would time out).
    env = broker_env(gate, state_url, free_port(), BROKER_WORKERS="1", GATED_MODE="finish")
    with broker_process(gate, env) as new:
        client = OSBClient(new.url, USER, PASSWORD)

        def finished() -> Any:
            polled = client.last_operation("slow-async", operation=operation)
            assert polled.status == 200, polled.text
            return polled.json if polled.json["state"] != "in progress" else None

        assert wait_for(finished, "the operation to finish in the new process")["state"] == "succeeded"
        assert client.fetch_instance("slow-sync", service_id=SERVICE_ID, plan_id=SYNC_PLAN).status == 200
        done_by = {
            pid for pid, step, rid, event in step_lines(gate) if rid == "slow-async" and event == "done"
        }
        assert done_by and not done_by & old_pid
        new.terminate()
        assert new.wait(timeout=GRACEFUL_TIMEOUT + 5) == 0


def test_requests_still_draining_do_not_restart_a_stopped_driver(tmp_path: Path) -> None:
    """SIGTERM stops the driver while requests drain; their hooks must not start it again."""
    app = create_app(
        GatedBroker(tmp_path / "gate"), throwaway_settings(tmp_path), driver_settings=fast_driver_settings()
    )
    driver = runtime(app).driver
    assert driver is not None
    try:
        with serve_wsgi(app) as url:
            assert requests.get(url + "/health/live", timeout=10).status_code == 200
            assert driver.running  # started lazily by the first request
            stop_driver(app, timeout=5)
            assert requests.get(url + "/health/live", timeout=10).status_code == 200
            assert not driver.running
            start_driver(app)  # an explicit start still works
            assert driver.running
    finally:
        stop_driver(app, timeout=5)


def test_a_forked_worker_starts_a_driver_of_its_own(tmp_path: Path) -> None:
    """gunicorn with --preload forks workers from a process whose driver may be running."""
    app = create_app(
        GatedBroker(tmp_path / "gate"), throwaway_settings(tmp_path), driver_settings=fast_driver_settings()
    )
    driver = runtime(app).driver
    assert driver is not None
    start_driver(app)
    try:
        pid = os.fork()
        if pid == 0:  # the child: none of the parent's threads, so not running until a request
            ok = not driver.running
            driver.start_lazily()
            ok = ok and driver.running and any(t.name == "openbroker-driver" for t in threading.enumerate())
            driver.stop(timeout=5)
            os._exit(0 if ok and not driver.running else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert driver.running  # the parent's driver went on
    finally:
        stop_driver(app, timeout=5)
