"""One request pipeline: a check added to the list applies to every route, fast path included.

Real HTTP on loopback: the app is served by a real WSGI server, and every OSB route of
``routes.ROUTES`` is called with ``requests``. The probe check records which route and
which server half (the fast path or Flask) each request went through, and marks every
answer with a header, so a route the pipeline skipped would be seen at once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from api_support import Api, assert_error_shape, bind_body, make_settings, provision_body, uid
from flask import Flask
from http_brokers import SERVICE_ID, SMALL_PLAN, RecordingBroker

from openbroker_aliyun.api import Check, install_api, standard_checks
from openbroker_aliyun.api.fast_path import FastPath
from openbroker_aliyun.api.request_state import RequestState
from openbroker_aliyun.api.routes import ROUTES, Route
from openbroker_aliyun.app import create_app, runtime, stop_driver
from openbroker_aliyun.engine import Engine, build_engine
from openbroker_aliyun.errors import ServiceUnavailable
from openbroker_aliyun.testing.servers import serve_wsgi

PROBE_HEADER = "X-Test-Probe"


@dataclass
class Probe:
    """A check of the test's own: records every request, marks every answer, refuses on demand."""

    seen: list[tuple[str, str | None, bool]] = field(default_factory=list)
    refusing: threading.Event = field(default_factory=threading.Event)

    def before(self, state: RequestState) -> None:
        self.seen.append((state.method, state.route, state.fast))
        if self.refusing.is_set():
            raise ServiceUnavailable("The broker is draining; try again shortly.")

    def after(self, state: RequestState, status: int, headers: list[tuple[str, str]]) -> None:
        headers.append((PROBE_HEADER, f"{state.method} {state.route}"))

    def check(self) -> Check:
        return Check("probe", before=self.before, after=self.after)


@dataclass
class Served:
    api: Api
    app: Flask
    engine: Engine
    probe: Probe


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    settings = make_settings(tmp_path)
    engine = build_engine(
        RecordingBroker(),
        state_url=settings.state_url,
        encryption_keys=settings.encryption_keys,
        run_driver=False,
    )
    probe = Probe()
    app = Flask("pipeline-test")
    install_api(app, engine, settings, checks=[*standard_checks(settings), probe.check()])
    assert isinstance(app.wsgi_app, FastPath)
    try:
        with serve_wsgi(app) as url:
            yield Served(Api(url), app, engine, probe)
    finally:
        engine.close()


def _call(api: Api, route: Route, instance_id: str, binding_id: str) -> requests.Response:
    """A well-formed request for ``route`` on the given ids."""
    path = route.rule.replace("<instance_id>", instance_id).replace("<binding_id>", binding_id)
    kwargs: dict[str, Any] = {}
    if route.method in ("PUT", "PATCH"):
        kwargs["json"] = bind_body() if "<binding_id>" in route.rule else provision_body()
    if route.method == "DELETE":
        kwargs["params"] = {"service_id": SERVICE_ID, "plan_id": SMALL_PLAN}
    return api.request(route.method, path, **kwargs)


def test_a_check_added_to_the_list_applies_to_every_route(served: Served) -> None:
    iid, bid = uid("pipe"), uid("bind")
    assert served.api.provision(iid).status_code == 201
    assert served.api.bind(iid, bid).status_code == 201
    served.probe.seen.clear()

    for route in ROUTES:
        response = _call(served.api, route, iid, bid)
        assert response.status_code < 500, (route.rule, response.text)
        assert response.headers[PROBE_HEADER] == f"{route.method} {route.rule}", route

    assert served.probe.seen == [(route.method, route.rule, route.fast) for route in ROUTES]
    # The fast path served the catalog and both polls: the check ran there too.
    assert {(m, r) for m, r, fast in served.probe.seen if fast} == {
        ("GET", "/v2/catalog"),
        ("GET", "/v2/service_instances/<instance_id>/last_operation"),
        ("GET", "/v2/service_instances/<instance_id>/service_bindings/<binding_id>/last_operation"),
    }


def test_a_refusing_check_refuses_every_route_and_changes_nothing(served: Served) -> None:
    """The issue's case: a 'draining: 503' check must hold for catalog and polls too."""
    iid, bid = uid("kept"), uid("kept-bind")
    assert served.api.provision(iid).status_code == 201
    assert served.api.bind(iid, bid).status_code == 201
    new_iid, new_bid = uid("refused"), uid("refused-bind")

    served.probe.refusing.set()
    for route in ROUTES:
        # Existing ids for reads and deletes, new ones for creations.
        creating = route.method == "PUT"
        response = _call(served.api, route, new_iid if creating else iid, new_bid if creating else bid)
        body = assert_error_shape(response, 503)
        assert body["description"] == "The broker is draining; try again shortly.", route
        assert response.headers["Retry-After"].isdigit(), route
        assert response.headers[PROBE_HEADER] == f"{route.method} {route.rule}", route
    assert any(fast for _, _, fast in served.probe.seen)

    served.probe.refusing.clear()
    # Nothing was changed: the kept instance and binding are there, the new ones are not.
    assert served.api.get(f"/v2/service_instances/{iid}").status_code == 200
    assert served.api.get(f"/v2/service_instances/{iid}/service_bindings/{bid}").status_code == 200
    assert served.api.get(f"/v2/service_instances/{new_iid}").status_code == 404


def test_checks_run_in_list_order_on_both_paths(served: Served) -> None:
    """Auth comes before the version check, whichever half serves the route."""
    iid = uid("order")
    for path in (
        "/v2/catalog",
        f"/v2/service_instances/{iid}/last_operation",
        f"/v2/service_instances/{iid}",
    ):
        assert served.api.get(path, auth=None, version=None).status_code == 401, path
        assert served.api.get(path, version=None).status_code == 412, path


def test_checks_of_the_osb_api_skip_health_but_the_others_do_not(served: Served) -> None:
    served.probe.seen.clear()
    live = requests.get(served.api.url + "/health/live", timeout=10)
    assert live.status_code == 200 and PROBE_HEADER not in live.headers
    assert served.probe.seen == []  # the probe is an OSB check (osb_only, the default)


def test_check_names_are_unique(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    checks = standard_checks(settings)
    assert [check.name for check in checks] == [
        "log",
        "metrics",
        "auth",
        "version",
        "encoding",
        "identity",
        "body",
    ]
    engine = build_engine(
        RecordingBroker(),
        state_url=settings.state_url,
        encryption_keys=settings.encryption_keys,
        run_driver=False,
    )
    try:
        with pytest.raises(ValueError, match="unique"):
            install_api(Flask("twice"), engine, settings, checks=[*checks, checks[2]])
    finally:
        engine.close()


# -- draining: the engine driver's lazy start is a check of every request -----------------


def test_the_draining_check_starts_the_driver_once_and_never_after_a_stop(tmp_path: Path) -> None:
    app = create_app(RecordingBroker(), make_settings(tmp_path))
    names = [check.name for check in standard_checks(make_settings(tmp_path), start_driver=lambda: None)]
    assert names.index("draining") < names.index("auth")
    driver = runtime(app).driver
    assert driver is not None and isinstance(app.wsgi_app, FastPath)
    try:
        with serve_wsgi(app) as url:
            api = Api(url)
            assert not driver.running
            assert api.get("/v2/catalog").status_code == 200  # the fast path
            assert driver.running
            stop_driver(app, timeout=5)  # what SIGTERM does under serve(): the process drains
            for path in ("/v2/catalog", "/v2/service_instances/x/last_operation", "/v2/service_instances/x"):
                assert api.get(path).status_code in (200, 404)
                assert not driver.running, path
    finally:
        stop_driver(app, timeout=5)
