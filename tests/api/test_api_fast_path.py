"""The fast path answers GET /v2/catalog and GET last_operation exactly as Flask does.

Each request is sent to both the fast path and the Flask app behind it, with the same
state: status, headers and body must be the same (rejections and errors included), and
the fast path must have answered its routes itself and left every other request to Flask.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from api_support import PASSWORD, USER, identity_header, make_settings, provision_body
from flask import Flask, request, request_started
from http_brokers import SERVICE_ID, SMALL_PLAN, AsyncRecordingBroker, RecordingBroker
from werkzeug.exceptions import HTTPException
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from openbroker_aliyun import metrics
from openbroker_aliyun.api import install_api
from openbroker_aliyun.api.fast_path import FastPath
from openbroker_aliyun.api.request_state import RequestState
from openbroker_aliyun.api.routes import ROUTES
from openbroker_aliyun.app import create_app, runtime, stop_driver
from openbroker_aliyun.engine import Engine, build_engine
from openbroker_aliyun.engine.leases import utcnow
from openbroker_aliyun.errors import BadRequest

AUTH = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
HEADERS = {"Authorization": AUTH, "X-Broker-API-Version": "2.17"}
LAST_OPERATION = "/v2/service_instances/<instance_id>/last_operation"


@dataclass
class Lane:
    app: Flask
    lane: FastPath
    engine: Engine
    broker: AsyncRecordingBroker
    delegated: list[str]


@dataclass(frozen=True)
class Answer:
    status: str
    headers: list[tuple[str, str]]
    body: bytes


@pytest.fixture
def lane(tmp_path: Path) -> Iterator[Lane]:
    settings = make_settings(tmp_path)
    broker = AsyncRecordingBroker()
    engine = build_engine(
        broker, state_url=settings.state_url, encryption_keys=settings.encryption_keys, run_driver=False
    )
    app = create_app(broker, settings, engine=engine)
    fast = app.wsgi_app
    assert isinstance(fast, FastPath)
    delegated: list[str] = []
    flask = fast.flask

    def counting(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        delegated.append(environ["PATH_INFO"])
        return flask(environ, start_response)

    fast.flask = counting
    try:
        yield Lane(app, fast, engine, broker, delegated)
    finally:
        engine.close()


def call(wsgi: Callable[..., Iterable[bytes]], environ: dict[str, Any]) -> Answer:
    got: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        got["status"], got["headers"] = status, headers

    body = b"".join(wsgi(dict(environ), start_response))
    # Both compute the date of "now": only its presence must match.
    headers = [(name, "<date>" if name == "Date" else value) for name, value in got["headers"]]
    return Answer(got["status"], headers, body)


def both(lane: Lane, path: str, headers: dict[str, str] | None = None, *, method: str = "GET") -> Answer:
    """The fast path's answer, after checking it is Flask's answer to the same request."""
    environ = EnvironBuilder(
        path=path, method=method, headers=HEADERS if headers is None else headers
    ).get_environ()
    fast = call(lane.lane, environ)
    assert fast == call(lane.lane.flask, environ)
    return fast


def provision(lane: Lane, instance_id: str, *, hold: bool) -> str:
    if hold:
        lane.broker.hold.add(instance_id)
    response = lane.app.test_client().put(
        f"/v2/service_instances/{instance_id}?accepts_incomplete=true", json=provision_body(), headers=HEADERS
    )
    assert response.status_code == 202, response.data
    lane.engine.drive_once()
    return str(response.get_json()["operation"])


def settle(lane: Lane) -> None:
    """Step operations until none is due any more (bounded: 5 s)."""
    deadline = time.monotonic() + 5
    while lane.engine.store.due_operations(utcnow() + timedelta(seconds=1), 1):
        lane.engine.drive_once()
        assert time.monotonic() < deadline, "operations still due"
        time.sleep(0.02)


def test_ordinary_catalog_requests_are_answered_by_the_fast_path(lane: Lane) -> None:
    plain = both(lane, "/v2/catalog")
    assert plain.status == "200 OK"
    assert dict(plain.headers)["ETag"] and dict(plain.headers)["Last-Modified"]
    tracked = both(lane, "/v2/catalog", {**HEADERS, "X-Broker-API-Request-Identity": "req-1"})
    assert ("X-Broker-API-Request-Identity", "req-1") in tracked.headers
    both(
        lane,
        "/v2/catalog",
        {
            **HEADERS,
            "X-Broker-API-Originating-Identity": identity_header("kubernetes", {"username": "someone"}),
        },
    )
    assert lane.delegated == ["/v2/catalog"] * 3  # only the Flask half of each comparison


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Broker-API-Version": "2.17"},
        {
            "Authorization": "Basic " + base64.b64encode(f"{USER}:wrong".encode()).decode(),
            "X-Broker-API-Version": "2.17",
        },
        {"Authorization": AUTH},
        {**HEADERS, "X-Broker-API-Version": "3.0"},
        {**HEADERS, "X-Broker-API-Originating-Identity": "cloudfoundry not-base64"},
    ],
    ids=["no-auth", "bad-password", "no-version", "bad-version", "bad-identity"],
)
def test_rejected_requests_are_answered_as_flask_does(lane: Lane, headers: dict[str, str]) -> None:
    answer = both(lane, "/v2/catalog", headers)
    assert answer.status[:3] in ("401", "412", "400")
    iid = "lo-" + str(len(lane.delegated))
    provision(lane, iid, hold=True)
    lane.delegated.clear()
    assert both(lane, f"/v2/service_instances/{iid}/last_operation", headers).status == answer.status
    assert len(lane.delegated) == 1  # only the comparison's Flask call: the fast path answered


def test_conditional_and_head_catalog_requests_are_left_to_flask(lane: Lane) -> None:
    etag = dict(both(lane, "/v2/catalog").headers)["ETag"]
    lane.delegated.clear()
    assert both(lane, "/v2/catalog", {**HEADERS, "If-None-Match": etag}).status == "304 NOT MODIFIED"
    assert both(lane, "/v2/catalog", method="HEAD").status == "200 OK"
    assert len(lane.delegated) == 4


def test_last_operation_in_progress_then_succeeded(lane: Lane) -> None:
    iid = "inst-ü-1"  # a path the server hands over latin-1 encoded
    operation = provision(lane, iid, hold=True)
    path = f"/v2/service_instances/{iid}/last_operation"
    lane.delegated.clear()
    polling = both(lane, path)
    assert polling.status == "200 OK" and ("Retry-After", "1") in polling.headers
    assert polling.body == b'{"state": "in progress", "description": "creating"}'
    query = f"?operation={operation}&service_id={SERVICE_ID}&plan_id={SMALL_PLAN}"
    assert both(lane, path + query) == polling
    assert both(lane, path + "?operation=") == polling
    tracked = both(lane, path, {**HEADERS, "X-Broker-API-Request-Identity": "poll-7"})
    assert tracked.headers[-1] == ("X-Broker-API-Request-Identity", "poll-7")
    assert len(lane.delegated) == 4  # the Flask half of each comparison only

    lane.broker.release(iid)
    settle(lane)
    done = both(lane, path)
    assert done.body == b'{"state": "succeeded"}'
    assert "Retry-After" not in dict(done.headers)


def test_binding_last_operation(lane: Lane) -> None:
    iid, bid = "inst-b", "bind-1"
    provision(lane, iid, hold=False)
    lane.broker.hold.add(bid)
    response = lane.app.test_client().put(
        f"/v2/service_instances/{iid}/service_bindings/{bid}?accepts_incomplete=true",
        json={"service_id": SERVICE_ID, "plan_id": SMALL_PLAN},
        headers=HEADERS,
    )
    assert response.status_code == 202, response.data
    lane.engine.drive_once()
    lane.delegated.clear()
    polling = both(lane, f"/v2/service_instances/{iid}/service_bindings/{bid}/last_operation")
    assert polling.body == b'{"state": "in progress", "description": "binding"}'
    assert len(lane.delegated) == 1


@pytest.mark.parametrize(
    "path",
    [
        "/v2/service_instances/no-such-instance/last_operation",
        "/v2/service_instances/inst-e/last_operation?operation=not-one-of-its-operations",
        "/v2/service_instances/inst-e/last_operation?operation=%ff",
        "/v2/service_instances/inst-e/service_bindings/no-such-binding/last_operation",
        "/v2/service_instances/inst-e/last_operation/",
        "/v2/service_instances//last_operation",
        "/v2/catalog/",
    ],
)
def test_engine_errors_and_odd_paths_are_answered_as_flask_does(lane: Lane, path: str) -> None:
    provision(lane, "inst-e", hold=False)
    lane.delegated.clear()
    assert not both(lane, path).status.startswith("200")
    # Errors of a fast route are the fast path's (the one error reply); odd paths are Flask's.
    fast_route = path.split("?")[0].endswith("last_operation") and "//" not in path
    assert len(lane.delegated) == (1 if fast_route else 2)


def test_the_fast_path_logs_and_counts_as_flask_does(lane: Lane, caplog: pytest.LogCaptureFixture) -> None:
    iid = "inst-log"
    provision(lane, iid, hold=True)
    environ = EnvironBuilder(
        path=f"/v2/service_instances/{iid}/last_operation",
        query_string="operation=abc",
        headers={
            **HEADERS,
            "X-Broker-API-Request-Identity": "req-log",
            "X-VCAP-Request-ID": "vcap-1",
            "X-Broker-API-Originating-Identity": identity_header("cloudfoundry", {"user_id": "u-1"}),
        },
    ).get_environ()
    registry = metrics.broker_metrics().registry
    labels = {"endpoint": LAST_OPERATION, "method": "GET", "status": "400"}

    def counted() -> float:
        return registry.get_sample_value("osb_requests_total", labels) or 0.0

    in_progress = registry.get_sample_value("osb_requests_in_progress")
    caplog.set_level(logging.INFO, logger="openbroker_aliyun.api.access")
    before = counted()
    # A token of no operation: 400, answered by each of the two.
    call(lane.lane, environ)
    call(lane.lane.flask, environ)
    assert counted() == before + 2
    served = {**environ, "QUERY_STRING": ""}
    labels["status"] = "200"
    before = counted()
    call(lane.lane, served)
    call(lane.lane.flask, served)
    assert counted() == before + 2
    assert registry.get_sample_value("osb_requests_in_progress") == in_progress
    lines = [vars(record) for record in caplog.records if record.name == "openbroker_aliyun.api.access"]
    fields = ("message", "levelname", "method", "path", "status", "request_id", "request_identity")
    fields += ("vcap_request_id", "instance_id", "binding_id", "operation", "platform", "user")
    fast, flask = ({name: line[name] for name in fields} for line in lines[-2:])
    assert fast == flask
    assert fast["user"] == "u-1" and fast["status"] == 200 and fast["request_id"] == "req-log"


# -- when the fast path steps aside for good ----------------------------------------------


def test_a_hook_added_after_the_api_turns_the_fast_path_off(lane: Lane) -> None:
    ran: list[str] = []
    lane.app.before_request(lambda: ran.append(request.path))
    assert lane.app.test_client().get("/v2/catalog", headers=HEADERS).status_code == 200
    assert ran == ["/v2/catalog"] and not lane.lane.open


def test_a_receiver_of_flasks_request_signals_turns_the_fast_path_off(lane: Lane) -> None:
    seen: list[str] = []

    def receiver(sender: Flask, **extra: Any) -> None:
        seen.append(request.path)

    with request_started.connected_to(receiver, lane.app):
        assert lane.app.test_client().get("/v2/catalog", headers=HEADERS).status_code == 200
    assert seen == ["/v2/catalog"] and not lane.lane.open


def _plain_app(tmp_path: Path, prepare: Callable[[Flask], None]) -> tuple[Flask, Engine]:
    settings = make_settings(tmp_path)
    broker = RecordingBroker()
    engine = build_engine(
        broker, state_url=settings.state_url, encryption_keys=settings.encryption_keys, run_driver=False
    )
    app = Flask("plain")
    prepare(app)
    install_api(app, engine, settings)
    return app, engine


def test_no_fast_path_in_front_of_middleware_or_hooks_of_the_app(tmp_path: Path) -> None:
    def with_middleware(app: Flask) -> None:
        inner = app.wsgi_app
        app.wsgi_app = lambda environ, start_response: inner(environ, start_response)  # type: ignore[method-assign]

    ran: list[str] = []
    for number, prepare in enumerate(
        (
            with_middleware,
            lambda app: app.after_request(lambda response: response),
            lambda app: app.before_request(lambda: ran.append(request.path)),
        )
    ):
        folder = tmp_path / str(number)
        folder.mkdir()
        app, engine = _plain_app(folder, prepare)
        try:
            assert not isinstance(app.wsgi_app, FastPath)
            assert app.test_client().get("/v2/catalog", headers=HEADERS).status_code == 200
        finally:
            engine.close()
    assert ran == ["/v2/catalog"]  # the app's own hook ran: Flask served the request


def test_a_first_request_through_the_fast_path_starts_the_driver(tmp_path: Path) -> None:
    app = create_app(RecordingBroker(), make_settings(tmp_path))
    try:
        assert isinstance(app.wsgi_app, FastPath)
        assert not runtime(app).driver.running  # type: ignore[union-attr]
        assert app.test_client().get("/v2/catalog", headers=HEADERS).status_code == 200
        assert runtime(app).driver.running  # type: ignore[union-attr]
        assert app.wsgi_app.open
    finally:
        stop_driver(app, timeout=5)


@pytest.mark.parametrize("raw", ["", "operation=a%20b+c", "operation=1&operation=2", "a&b=&=c", "x=%zz&y=1"])
def test_query_strings_are_parsed_as_werkzeug_does(raw: str) -> None:
    environ = EnvironBuilder(path="/v2/catalog").get_environ()
    environ["QUERY_STRING"] = raw
    state = RequestState(environ, "GET", "/v2/catalog", "/v2/catalog")
    assert list(state.args.items(multi=True)) == list(Request(environ).args.items(multi=True))


def test_a_query_string_that_is_not_utf8_is_refused_not_replaced() -> None:
    # werkzeug would keep "%ff%fe" as text; the API refuses it (wire_text).
    environ = EnvironBuilder(path="/v2/catalog").get_environ()
    environ["QUERY_STRING"] = "operation=%ff%fe"
    with pytest.raises(BadRequest, match="UTF-8"):
        _ = RequestState(environ, "GET", "/v2/catalog", "/v2/catalog").args


@pytest.mark.parametrize(
    "path",
    [
        "/v2/catalog",
        "/v2/catalog/",
        "/v2/service_instances/a/last_operation",
        "/v2/service_instances/a%20b/last_operation",
        "/v2/service_instances/a/service_bindings/b/last_operation",
        "/v2/service_instances/a/b/last_operation",
        "/v2/service_instances//last_operation",
        "/v2/service_instances/a/last_operation/",
        "/v2/service_instances/a/service_bindings/b",
    ],
)
def test_route_patterns_match_as_werkzeugs_router_does(lane: Lane, path: str) -> None:
    """The fast path's patterns come from the route table and agree with Flask's router."""
    adapter = lane.app.url_map.bind("localhost")
    try:
        rule, ids = adapter.match(path, "GET", return_rule=True)
        flask_match: tuple[str, dict[str, Any]] | None = (rule.rule, ids)
    except HTTPException:
        flask_match = None
    ours = [
        (route.rule, match.groupdict())
        for route in ROUTES
        if route.method == "GET" and (match := route.pattern.fullmatch(path))
    ]
    assert ours == ([] if flask_match is None else [flask_match])


def test_trusted_hosts_are_left_to_flask(lane: Lane) -> None:
    lane.app.config["TRUSTED_HOSTS"] = ["broker.example"]
    environ = EnvironBuilder(
        path="/v2/catalog", headers=HEADERS, base_url="http://evil.example"
    ).get_environ()
    assert call(lane.lane, environ).status.startswith("400")
    assert lane.delegated == ["/v2/catalog"] and lane.lane.open
