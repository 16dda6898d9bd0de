"""``GET /metrics`` of a broker served in this process (werkzeug, real HTTP on loopback).

The process's metrics are shared by every app in it, so each test compares a scrape
taken before its requests with one taken after.
"""

from __future__ import annotations

import itertools
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from gated_broker import ASYNC_PLAN, SERVICE_ID, SYNC_PLAN, GatedBroker
from observability_support import label_values, samples, scrape, value, wait_for

from openbroker_aliyun.api.routes import ROUTES
from openbroker_aliyun.config import ConfigError, load_settings
from openbroker_aliyun.metrics import OperationsCollector
from openbroker_aliyun.store.errors import StoreUnavailable
from openbroker_aliyun.testing.servers import RunningBroker, broker_server, throwaway_settings

INSTANCE = "/v2/service_instances/<instance_id>"
OSB_ROUTES = {route.rule for route in ROUTES}


@pytest.fixture
def broker(tmp_path: Path) -> GatedBroker:
    return GatedBroker(tmp_path / "gate")


@pytest.fixture
def served(broker: GatedBroker, tmp_path: Path) -> Iterator[RunningBroker]:
    with broker_server(broker, throwaway_settings(tmp_path)) as running:
        yield running


def _delta(before: str, after: str, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def test_requests_counted_by_route_template_method_and_status(served: RunningBroker) -> None:
    url, client = served
    before = scrape(url)
    iid = f"count-{uuid.uuid4().hex[:8]}"
    assert client.provision(iid, SERVICE_ID, SYNC_PLAN).status == 201
    assert client.provision(iid, SERVICE_ID, SYNC_PLAN).status == 200
    assert client.catalog().status == 200
    assert requests.get(url + "/v2/catalog", auth=("x", "wrong"), timeout=10).status_code == 401
    assert client.request("GET", "/v2/catalog", headers={"X-Broker-API-Version": None}).status == 412
    assert client.request("GET", f"/v2/nothing/{iid}").status == 404
    assert client.request("POST", "/v2/catalog").status == 405
    after = scrape(url)

    name = "osb_requests_total"
    assert _delta(before, after, name, endpoint=INSTANCE, method="PUT", status="201") == 1
    assert _delta(before, after, name, endpoint=INSTANCE, method="PUT", status="200") == 1
    assert _delta(before, after, name, endpoint="/v2/catalog", method="GET", status="200") == 1
    assert _delta(before, after, name, endpoint="/v2/catalog", method="GET", status="401") == 1
    assert _delta(before, after, name, endpoint="/v2/catalog", method="GET", status="412") == 1
    # No route matched: one label for all of them, never the raw path.
    assert _delta(before, after, name, endpoint="unmatched", method="GET", status="404") == 1
    assert _delta(before, after, name, endpoint="unmatched", method="POST", status="405") == 1
    # The first scrape is counted by the second.
    assert _delta(before, after, name, endpoint="/metrics", method="GET", status="200") == 1
    # The scrape itself is the request in progress.
    assert value(after, "osb_requests_in_progress") == 1


def test_request_duration_histogram(served: RunningBroker) -> None:
    url, client = served
    before = scrape(url)
    for _ in range(3):
        assert client.catalog().status == 200
    iid = f"hist-{uuid.uuid4().hex[:8]}"
    assert client.provision(iid, SERVICE_ID, SYNC_PLAN).status == 201
    after = scrape(url)

    for endpoint, method, count in (("/v2/catalog", "GET", 3), (INSTANCE, "PUT", 1)):
        labels = {"endpoint": endpoint, "method": method}
        histogram = "osb_request_duration_seconds"
        assert _delta(before, after, histogram + "_count", **labels) == count
        assert _delta(before, after, histogram + "_bucket", le="+Inf", **labels) == count
        assert value(after, histogram + "_sum", **labels) > 0
        buckets = sorted(
            (float(sample.labels["le"]), sample.value)
            for sample in samples(after)
            if sample.name == histogram + "_bucket" and all(sample.labels[k] == v for k, v in labels.items())
        )
        assert len(buckets) > 5 and buckets[-1][0] == float("inf")
        # Cumulative buckets never decrease.
        assert all(low[1] <= high[1] for low, high in itertools.pairwise(buckets))


def test_labels_hold_no_ids_and_no_secrets(served: RunningBroker) -> None:
    url, client = served
    iid = f"label-{uuid.uuid4().hex}"
    wrong_password = "Wr0ng-Pa55word-" + uuid.uuid4().hex
    assert client.provision(iid, SERVICE_ID, SYNC_PLAN).status == 201
    assert client.fetch_instance(iid).status == 200
    assert client.last_operation(iid).status == 200
    unauthorised = requests.get(url + f"/v2/service_instances/{iid}", auth=("u", wrong_password), timeout=10)
    assert unauthorised.status_code == 401
    assert requests.request("PROPFIND", url + f"/x/{iid}", timeout=10).status_code in (404, 405)
    text = scrape(url)

    for secret in (iid, wrong_password, client.password):
        assert secret not in text
    # Every OSB endpoint label is one of the route templates.
    endpoints = {sample.labels["endpoint"] for sample in samples(text) if "endpoint" in sample.labels}
    osb_endpoints = {endpoint for endpoint in endpoints if endpoint.startswith("/v2")}
    assert osb_endpoints and osb_endpoints <= OSB_ROUTES, osb_endpoints - OSB_ROUTES
    methods = {sample.labels["method"] for sample in samples(text) if "method" in sample.labels}
    assert "PROPFIND" not in methods and "other" in methods
    assert all(len(label) <= 100 for label in label_values(text))


def test_metrics_open_by_default_without_version_header(served: RunningBroker) -> None:
    url, _ = served
    response = requests.get(url + "/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "# TYPE osb_requests_total counter" in response.text
    openmetrics = requests.get(
        url + "/metrics", timeout=10, headers={"Accept": "application/openmetrics-text; version=1.0.0"}
    )
    assert openmetrics.headers["Content-Type"].startswith("application/openmetrics-text")
    assert openmetrics.text.rstrip().endswith("# EOF")


def test_metrics_auth_requires_the_broker_credentials(broker: GatedBroker, tmp_path: Path) -> None:
    settings = throwaway_settings(tmp_path, metrics_auth=True)
    credential = settings.credentials[0]
    with broker_server(broker, settings) as (url, _):
        anonymous = requests.get(url + "/metrics", timeout=10)
        assert anonymous.status_code == 401
        assert anonymous.headers["WWW-Authenticate"].startswith("Basic")
        assert set(anonymous.json()) == {"description"}
        wrong = requests.get(url + "/metrics", auth=(credential.username, "not-it"), timeout=10)
        assert wrong.status_code == 401
        assert credential.password not in wrong.text
        right = requests.get(url + "/metrics", auth=(credential.username, credential.password), timeout=10)
        assert right.status_code == 200 and "osb_requests_total" in right.text
        # Health probes stay open whatever the metrics setting.
        assert requests.get(url + "/health/live", timeout=10).status_code == 200


def test_metrics_auth_setting_from_the_environment() -> None:
    env = {"BROKER_USERNAME": "u", "BROKER_PASSWORD": "p-metrics-1"}
    assert load_settings(env).metrics_auth is False
    assert load_settings({**env, "BROKER_METRICS_AUTH": "true"}).metrics_auth is True
    with pytest.raises(ConfigError, match="BROKER_METRICS_AUTH") as error:
        load_settings({**env, "BROKER_METRICS_AUTH": "sometimes"})
    assert "p-metrics-1" not in str(error.value)


def test_operations_gauge_by_kind_and_state(served: RunningBroker, broker: GatedBroker) -> None:
    url, client = served
    broker.mode = "hold"
    held = f"ops-{uuid.uuid4().hex[:8]}"
    accepted = client.provision(held, SERVICE_ID, ASYNC_PLAN)
    assert accepted.status == 202
    assert client.provision(f"ops-{uuid.uuid4().hex[:8]}", SERVICE_ID, SYNC_PLAN).status == 201

    text = scrape(url)
    # This app's store is its own: the counts are exact.
    assert value(text, "osb_state_store_up") == 1
    assert value(text, "osb_operations", kind="provision", state="in progress") == 1
    assert value(text, "osb_operations", kind="provision", state="succeeded") == 1
    # Every kind and state is reported, zeros included.
    assert value(text, "osb_operations", kind="unbind", state="failed") == 0
    kinds_states = {
        (sample.labels["kind"], sample.labels["state"])
        for sample in samples(text)
        if sample.name == "osb_operations"
    }
    assert len(kinds_states) == 15

    broker.mode = "finish"

    def finished() -> bool:
        return value(scrape(url), "osb_operations", kind="provision", state="succeeded") == 2

    wait_for(finished, "the async provision to succeed")
    assert value(scrape(url), "osb_operations", kind="provision", state="in progress") == 0
    assert client.deprovision(held, SERVICE_ID, ASYNC_PLAN).status == 202
    wait_for(
        lambda: value(scrape(url), "osb_operations", kind="deprovision", state="succeeded") == 1,
        "the deprovision to succeed",
    )


def test_an_unreachable_store_shows_in_the_gauge_not_in_a_log_line_per_scrape(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The store's outage tracker logs an outage once; scrapes during it add no lines."""

    def unreachable() -> dict[tuple[str, str], int]:
        raise StoreUnavailable(statement="SELECT", table="osb_operations", cause="OperationalError")

    collector = OperationsCollector(unreachable)
    with caplog.at_level(logging.DEBUG, logger="openbroker_aliyun"):
        scrapes = [list(collector.collect()) for _ in range(3)]
    for families in scrapes:
        assert [(family.name, family.samples[0].value) for family in families] == [("osb_state_store_up", 0)]
    assert [record for record in caplog.records if record.levelno >= logging.WARNING] == []
