"""The deployments' command, run for real with exactly the settings each deployment gives.

For Kubernetes: the container's command with the environment the ConfigMap and the
Secret produce (the overlay's settings, the secret template's keys filled in). For Cloud
Foundry: the manifest's command with the manifest's env (its variables taken from the
example vars file) and the variables docs/cloudfoundry.md tells the operator to
``cf set-env``. Both run gunicorn on ``$PORT`` against a real PostgreSQL state store; the
probes' paths must answer 200 over HTTP, and SIGTERM must stop the broker cleanly.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml
from deploy_facts import BASE, cloudfoundry_environment, kubernetes_environment

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(params=["kubernetes", "cloudfoundry"])
def deployed(request: pytest.FixtureRequest, postgres_database: str) -> Iterator[tuple[str, list[str]]]:
    """The broker started as the deployment starts it; yields (base URL, probe paths)."""
    builder = kubernetes_environment if request.param == "kubernetes" else cloudfoundry_environment
    command, env, probes = builder()
    port = _free_port()
    env |= {
        "PORT": str(port),  # Diego and the Deployment both set it
        "BROKER_STATE_URL": postgres_database,  # the real shared store instead of the example's
        # Nothing may reach Alibaba Cloud from a test: any call would fail on loopback.
        "ALIBABA_CLOUD_ENDPOINT": "http://127.0.0.1:9",
        "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
    }
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_live(process, url + probes[0])
        yield url, probes
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _wait_until_live(process: subprocess.Popen[str], url: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            pytest.fail(f"the broker exited with {process.returncode}:\n{output[-3000:]}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    pytest.fail("the broker did not answer its liveness probe")


def test_probes_answer_on_port_with_the_deployment_settings(deployed: tuple[str, list[str]]) -> None:
    url, probes = deployed
    assert set(probes) == {"/health/live", "/health/ready"}
    for path in probes:
        response = requests.get(url + path, timeout=5)
        assert response.status_code == 200, (path, response.text)
        assert response.json()["status"] == "ok"
    # The OSB API itself is behind the Basic auth the deployment configured.
    assert requests.get(url + "/v2/catalog", timeout=5).status_code == 401
    # Prometheus scrapes the same port; the workers' counts are summed, so the requests
    # above show whichever worker answers.
    metrics = requests.get(url + "/metrics", timeout=5)
    assert metrics.status_code == 200
    assert re.search(r'^osb_requests_total\{[^}]*status="401"[^}]*\} [1-9]', metrics.text, flags=re.MULTILINE)


def test_sigterm_stops_the_broker_cleanly(postgres_database: str) -> None:
    command, env, probes = kubernetes_environment()
    port = _free_port()
    env |= {
        "PORT": str(port),
        "BROKER_STATE_URL": postgres_database,
        "ALIBABA_CLOUD_ENDPOINT": "http://127.0.0.1:9",
        "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
    }
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_until_live(process, f"http://127.0.0.1:{port}{probes[0]}")
        process.send_signal(signal.SIGTERM)
        # Bounded by the pod's grace period: beyond it Kubernetes would SIGKILL.
        (deployment,) = yaml.safe_load_all((BASE / "deployment.yaml").read_text(encoding="utf-8"))
        grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        returncode = process.wait(timeout=grace)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    output = process.stdout.read() if process.stdout else ""
    assert returncode == 0, output[-3000:]
    # Nothing secret reached the log on the way.
    for key, value in env.items():
        if key in ("BROKER_PASSWORD", "BROKER_ENCRYPTION_KEYS", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"):
            assert value not in output, f"{key} appears in the broker's output"
