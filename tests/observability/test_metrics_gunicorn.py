"""``/metrics`` under real gunicorn with two worker processes: every worker's requests count.

Requests are spread over the workers by the kernel; ``/test/process`` says which worker
answered each. Whichever worker answers ``/metrics``, the counts are the sums of both
(prometheus-client's multiprocess mode, set up by ``serve``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from gated_broker import SERVICE_ID, SYNC_PLAN
from observability_support import (
    PASSWORD,
    USER,
    broker_env,
    broker_process,
    free_port,
    scrape,
    value,
)

pytestmark = pytest.mark.slow

# Far more than needed for the kernel to hand connections to both workers; bounded.
MAX_PROBES = 400


def _probe(url: str) -> int:
    # A new connection each time (no session): each may go to either worker.
    response = requests.get(url + "/test/process", timeout=10, headers={"Connection": "close"})
    assert response.status_code == 200
    return int(response.json()["pid"])


def test_two_workers_metrics_are_summed_over_both(tmp_path: Path) -> None:
    operator_dir = tmp_path / "prometheus"
    operator_dir.mkdir()
    # What a previous run may have left: must be wiped at start (else it would be summed,
    # and this one cannot even be parsed).
    (operator_dir / "counter_999999.db").write_bytes(b"not a metrics file")
    env = broker_env(
        tmp_path / "gate",
        f"sqlite:///{tmp_path / 'state.db'}",
        free_port(),
        BROKER_WORKERS="2",
        BROKER_THREADS="4",
        PROMETHEUS_MULTIPROC_DIR=str(operator_dir),
    )
    with broker_process(tmp_path / "gate", env) as broker:
        assert not (operator_dir / "counter_999999.db").exists()
        process = requests.get(broker.url + "/test/process", timeout=10).json()
        assert process["metrics_dir"] == str(operator_dir)
        before = scrape(broker.url)
        pids: list[int] = []
        with ThreadPoolExecutor(max_workers=8) as pool:
            while len(set(pids)) < 2 and len(pids) < MAX_PROBES:
                pids.extend(pool.map(_probe, [broker.url] * 16))
        assert len(set(pids)) == 2, "the kernel never handed a connection to the second worker"

        # Some OSB traffic too: a provision (201), an unauthenticated catalog (401).
        headers = {"X-Broker-API-Version": "2.17"}
        body = {"service_id": SERVICE_ID, "plan_id": SYNC_PLAN, "organization_guid": "o", "space_guid": "s"}
        for number in range(3):
            response = requests.put(
                f"{broker.url}/v2/service_instances/gunicorn-{number}",
                json=body,
                auth=(USER, PASSWORD),
                headers=headers,
                timeout=10,
            )
            assert response.status_code == 201, response.text
        assert requests.get(broker.url + "/v2/catalog", headers=headers, timeout=10).status_code == 401

        # Several scrapes (each may be answered by either worker) all see every request.
        for _ in range(4):
            text = requests.get(broker.url + "/metrics", timeout=10, headers={"Connection": "close"}).text
            for name in ("osb_requests_total", "osb_request_duration_seconds_count"):
                probes = value(text, name, endpoint="/test/process", method="GET")
                assert probes - value(before, name, endpoint="/test/process", method="GET") == len(pids)
            instance = "/v2/service_instances/<instance_id>"
            assert value(text, "osb_requests_total", endpoint=instance, method="PUT", status="201") == 3
            assert value(text, "osb_requests_total", endpoint="/v2/catalog", status="401") == 1
            # Only the scrape itself is in progress; dead workers' gauges are not summed.
            assert value(text, "osb_requests_in_progress") == 1
            assert value(text, "osb_operations", kind="provision", state="succeeded") == 3

        broker.terminate()
        assert broker.wait(timeout=20) == 0
    # The operator's folder stays (only serve's own temporary folder is removed).
    assert operator_dir.is_dir()
