"""examples/minimal_broker.py, end to end over real HTTP, driven like Cloud Foundry does."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import requests

from openbroker_aliyun.testing.client import BrokerRejected, OSBClient
from openbroker_aliyun.testing.servers import RunningBroker, broker_server
from openbroker_aliyun.testing.vcap import VcapBinding, build_vcap_services

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "minimal_broker.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("minimal_broker_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


example = load_example()
SERVICE_ID = example.SERVICE.id
PLAN_ID = example.PLAN.id


@pytest.fixture
def running() -> Iterator[RunningBroker]:
    with broker_server(example.KeyValueBroker()) as served:
        yield served


def new_id() -> str:
    return str(uuid.uuid4())


def test_example_is_under_sixty_lines() -> None:
    assert len(EXAMPLE.read_text().splitlines()) < 60


def test_lifecycle_as_cloud_foundry_runs_it(running: RunningBroker) -> None:
    _, client = running
    instance_id, binding_id = new_id(), new_id()

    catalog = client.catalog()
    assert catalog.status == 200
    (service,) = catalog.json["services"]
    schema = service["plans"][0]["schemas"]["service_instance"]["create"]["parameters"]
    assert schema["properties"]["max_keys"]["maximum"] == 10_000

    client.provision_and_wait(
        instance_id, SERVICE_ID, PLAN_ID, parameters={"max_keys": 7}, instance_name="kv"
    )
    fetched = client.fetch_instance(instance_id)
    assert fetched.status == 200 and fetched.json["parameters"] == {"max_keys": 7}

    bound = client.bind_and_wait(instance_id, binding_id, SERVICE_ID, PLAN_ID)
    assert bound.response.status == 201
    credentials = bound.credentials
    assert credentials is not None
    assert credentials["namespace"] == instance_id and credentials["max-keys"] == 7
    assert len(credentials["token"]) >= 24

    vcap = build_vcap_services(
        catalog.json,
        [
            VcapBinding(
                SERVICE_ID, PLAN_ID, instance_id, "kv", binding_id, bound.body, instance_tags=("cache",)
            )
        ],
    )
    (entry,) = vcap["kv-namespace"]
    assert entry["plan"] == "small" and entry["name"] == "kv" and entry["credentials"] == credentials
    assert entry["binding_guid"] == binding_id and entry["instance_guid"] == instance_id
    assert json.loads(json.dumps(vcap)) == vcap

    assert client.unbind_and_wait(instance_id, binding_id, SERVICE_ID, PLAN_ID).response.status == 200
    assert client.deprovision_and_wait(instance_id, SERVICE_ID, PLAN_ID).response.status == 200
    assert client.fetch_instance(instance_id).status == 404


def test_kubernetes_platform_lifecycle(running: RunningBroker) -> None:
    url, first = running
    client = OSBClient(url, first.username, first.password, platform="kubernetes")
    instance_id, binding_id = new_id(), new_id()
    client.provision_and_wait(instance_id, SERVICE_ID, PLAN_ID)
    assert client.bind_and_wait(instance_id, binding_id, SERVICE_ID, PLAN_ID).credentials is not None
    client.unbind_and_wait(instance_id, binding_id, SERVICE_ID, PLAN_ID)
    client.deprovision_and_wait(instance_id, SERVICE_ID, PLAN_ID)


def test_idempotency_and_conflicts(running: RunningBroker) -> None:
    _, client = running
    instance_id, binding_id = new_id(), new_id()
    assert client.provision(instance_id, SERVICE_ID, PLAN_ID, parameters={"max_keys": 3}).status == 201
    again = client.provision(instance_id, SERVICE_ID, PLAN_ID, parameters={"max_keys": 3})
    assert again.status == 200
    different = client.provision(instance_id, SERVICE_ID, PLAN_ID, parameters={"max_keys": 4})
    assert different.status == 409 and different.description

    first = client.bind(instance_id, binding_id, SERVICE_ID, PLAN_ID)
    second = client.bind(instance_id, binding_id, SERVICE_ID, PLAN_ID)
    assert (first.status, second.status) == (201, 200)
    assert second.json["credentials"] == first.json["credentials"]
    # The token is revoked on unbind: a new binding gets a new one.
    assert client.unbind(instance_id, binding_id, SERVICE_ID, PLAN_ID).status == 200
    assert client.unbind(instance_id, binding_id, SERVICE_ID, PLAN_ID).status == 410
    assert client.fetch_binding(instance_id, binding_id).status == 404

    assert client.deprovision(instance_id, SERVICE_ID, PLAN_ID).status == 200
    assert client.deprovision(instance_id, SERVICE_ID, PLAN_ID).status == 410
    assert client.deprovision(new_id(), SERVICE_ID, PLAN_ID).status == 410


def test_bad_requests_are_4xx_and_change_nothing(running: RunningBroker) -> None:
    _, client = running
    instance_id = new_id()
    too_big = client.provision(instance_id, SERVICE_ID, PLAN_ID, parameters={"max_keys": 10_001})
    assert too_big.status == 400 and "max_keys" in (too_big.description or "")
    unknown = client.provision(instance_id, SERVICE_ID, PLAN_ID, parameters={"colour": "red"})
    assert unknown.status == 400
    assert client.provision(instance_id, SERVICE_ID, new_id()).status == 400
    assert client.provision(instance_id, new_id(), PLAN_ID).status == 400
    assert client.fetch_instance(instance_id).status == 404
    with pytest.raises(BrokerRejected):
        client.provision_and_wait(instance_id, SERVICE_ID, PLAN_ID, parameters={"max_keys": 0})
    # Nothing was created, so nothing is orphaned.
    assert client.deprovision(instance_id, SERVICE_ID, PLAN_ID).status == 410
    no_update = client.update(instance_id, SERVICE_ID, parameters={"max_keys": 5})
    assert 400 <= no_update.status < 500


def test_last_operation_and_headers(running: RunningBroker) -> None:
    url, client = running
    instance_id, binding_id = new_id(), new_id()
    client.provision(instance_id, SERVICE_ID, PLAN_ID)
    assert client.last_operation(new_id()).status == 404
    unknown_binding = client.last_operation(instance_id, binding_id)
    assert unknown_binding.status == 404

    answer = client.catalog()
    assert answer.headers.get("X-Broker-API-Request-Identity") == answer.request_identity
    etag = answer.headers["ETag"]
    assert client.catalog(if_none_match=etag).status == 304

    assert client.request("GET", "/v2/catalog", headers={"X-Broker-API-Version": None}).status in (400, 412)
    assert client.request("GET", "/v2/catalog", headers={"X-Broker-API-Version": "1.0"}).status == 412
    wrong = OSBClient(url, client.username, client.password + "x")
    assert wrong.catalog().status == 401


def wait_until_serving(client: OSBClient, process: subprocess.Popen[str]) -> None:
    """gunicorn's worker needs a moment after the master printed the URL."""
    for _ in range(200):
        assert process.poll() is None, "the example exited"
        try:
            if client.catalog().status == 200:
                return
        except requests.ConnectionError:
            time.sleep(0.05)
    raise AssertionError("the example did not start serving")


@pytest.mark.slow
def test_the_script_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PORT": str(port)}
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLE)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        url, _, userinfo = process.stdout.readline().strip().partition(" ")
        assert url == f"http://127.0.0.1:{port}"
        username, _, password = userinfo.partition(":")
        client = OSBClient(url, username, password)
        wait_until_serving(client, process)
        instance_id, binding_id = new_id(), new_id()
        client.provision_and_wait(instance_id, SERVICE_ID, PLAN_ID)
        assert client.bind_and_wait(instance_id, binding_id, SERVICE_ID, PLAN_ID).credentials
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
