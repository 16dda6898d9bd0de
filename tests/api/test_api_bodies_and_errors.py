"""Request bodies and error responses over real HTTP (OSB G5, G7, G8, G10).

Every client mistake gets a 4xx JSON ``{description}`` (plus ``error`` where the spec
names one), never a 500, and changes nothing.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from api_support import Running, assert_error_shape, bind_body, provision_body, uid
from http_brokers import LARGE_PLAN, OTHER_PLAN, OTHER_SERVICE_ID, SERVICE_ID, SMALL_PLAN
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def assert_nothing_happened(api: Running, iid: str) -> None:
    assert api.broker.calls_for(iid) == []
    assert api.api.get(f"/v2/service_instances/{iid}").status_code == 404


# ----------------------------------------------------------------- content type (G5)


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_put_body_must_be_json(sync_api: Running, content_type: str | None) -> None:
    iid = uid("ct")
    headers = {"Content-Type": content_type} if content_type else {}
    data = json.dumps(provision_body()).encode()
    response = sync_api.api.put(f"/v2/service_instances/{iid}", data=data, headers=headers)
    assert "Content-Type" in assert_error_shape(response, 400)["description"]
    assert_nothing_happened(sync_api, iid)


def test_json_with_charset_is_accepted(sync_api: Running) -> None:
    iid = uid("charset")
    response = sync_api.api.put(
        f"/v2/service_instances/{iid}",
        data=json.dumps(provision_body()).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201


@pytest.mark.parametrize("data", [b"{", b"{'single': 'quotes'}", b"\xff\xfe", b"[" * 100_000])
def test_malformed_json_is_400(sync_api: Running, data: bytes) -> None:
    iid = uid("bad-json")
    response = sync_api.api.put(
        f"/v2/service_instances/{iid}", data=data, headers={"Content-Type": "application/json"}
    )
    assert_error_shape(response, 400)
    assert_nothing_happened(sync_api, iid)


@pytest.mark.parametrize("body", [[], "string", 42, None, True])
def test_body_must_be_an_object(sync_api: Running, body: Any) -> None:
    iid = uid("not-object")
    response = sync_api.api.put(f"/v2/service_instances/{iid}", json=body)
    assert "object" in assert_error_shape(response, 400)["description"]
    assert_nothing_happened(sync_api, iid)


def test_empty_body_is_400(sync_api: Running) -> None:
    iid = uid("empty")
    response = sync_api.api.put(
        f"/v2/service_instances/{iid}", data=b"", headers={"Content-Type": "application/json"}
    )
    assert_error_shape(response, 400)
    response = sync_api.api.patch(
        f"/v2/service_instances/{iid}", data=b"", headers={"Content-Type": "application/json"}
    )
    assert_error_shape(response, 400)


def test_body_over_the_limit_is_413(sync_api: Running) -> None:
    iid = uid("huge")
    huge = provision_body(parameters={"label": "x" * (sync_api.settings.max_body_bytes + 1)})
    response = sync_api.api.put(f"/v2/service_instances/{iid}", json=huge)
    assert_error_shape(response, 413)
    assert_nothing_happened(sync_api, iid)


def test_chunked_body_over_the_limit_is_413(sync_api: Running) -> None:
    iid = uid("chunked")
    chunk = b" " * 65536
    count = sync_api.settings.max_body_bytes // len(chunk) + 2

    def chunks() -> Any:
        yield b"{"
        for _ in range(count):
            yield chunk
        yield b"}"

    response = sync_api.api.put(
        f"/v2/service_instances/{iid}", data=chunks(), headers={"Content-Type": "application/json"}
    )
    assert_error_shape(response, 413)
    assert_nothing_happened(sync_api, iid)


# ------------------------------------------------------------- shape of bodies (A3)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"service_id": None}, "service_id"),
        ({"plan_id": None}, "plan_id"),
        ({"service_id": ""}, "service_id"),
        ({"service_id": 42}, "service_id"),
        ({"plan_id": ["x"]}, "plan_id"),
        ({"parameters": "size=5"}, "parameters"),
        ({"parameters": [1, 2]}, "parameters"),
        ({"context": "cf"}, "context"),
        ({"maintenance_info": {"description": "no version"}}, "maintenance_info.version"),
        ({"maintenance_info": "1.0.0"}, "maintenance_info"),
    ],
)
def test_provision_shape_errors_name_the_field(sync_api: Running, change: dict[str, Any], field: str) -> None:
    iid = uid("shape")
    body = provision_body()
    for key, value in change.items():
        if value is None:
            body.pop(key)
        else:
            body[key] = value
    response = sync_api.api.provision(iid, body)
    assert field in assert_error_shape(response, 400)["description"]
    assert_nothing_happened(sync_api, iid)


def test_unknown_fields_are_ignored_everywhere(sync_api: Running) -> None:
    """G7: vendor extensions in bodies and query strings never fail a request."""
    iid = uid("ext")
    bid = uid("ext-b")
    body = provision_body(x_vendor_extension={"anything": [1, 2]}, another_field="x")
    body["context"]["x_vendor"] = "kept"
    body["maintenance_info"] = {"version": "1.0.0", "x_future": True}
    assert sync_api.api.provision(iid, body, params={"x_vendor_flag": "1"}).status_code == 201
    (op,) = sync_api.broker.steps("provision", iid)
    assert op.instance.context.raw.get("x_vendor") == "kept"
    binding = bind_body(x_vendor="y", bind_resource={"app_guid": "app", "x_vendor": 1})
    assert sync_api.api.bind(iid, bid, binding).status_code == 201
    update = {
        "service_id": SERVICE_ID,
        "parameters": {"size": 7},
        "x_vendor": [],
        "previous_values": {"x": 1},
    }
    assert sync_api.api.patch(f"/v2/service_instances/{iid}", json=update).status_code == 200


@pytest.mark.parametrize("value", ["yes", "1", "", "truee"])
def test_accepts_incomplete_must_be_true_or_false(sync_api: Running, value: str) -> None:
    iid = uid("flag")
    response = sync_api.api.provision(iid, params={"accepts_incomplete": value})
    assert "accepts_incomplete" in assert_error_shape(response, 400)["description"]
    assert_nothing_happened(sync_api, iid)


@pytest.mark.parametrize("value", ["true", "false"])
def test_accepts_incomplete_true_and_false_are_read(sync_api: Running, value: str) -> None:
    iid = uid("flag-ok")
    response = sync_api.api.provision(iid, params={"accepts_incomplete": value})
    assert response.status_code == 201
    (op,) = sync_api.broker.steps("provision", iid)
    assert op.info.accepts_incomplete is (value == "true")


@pytest.mark.parametrize(
    "params",
    [{}, {"service_id": SERVICE_ID}, {"plan_id": SMALL_PLAN}, {"service_id": "", "plan_id": SMALL_PLAN}],
    ids=["none", "no-plan", "no-service", "empty-service"],
)
def test_delete_needs_service_and_plan_in_the_query(sync_api: Running, params: dict[str, str]) -> None:
    iid = uid("del-q")
    assert sync_api.api.provision(iid).status_code == 201
    for path in (f"/v2/service_instances/{iid}", f"/v2/service_instances/{iid}/service_bindings/b"):
        response = sync_api.api.delete(path, params=params)
        description = assert_error_shape(response, 400)["description"]
        assert "service_id" in description or "plan_id" in description
    assert sync_api.api.get(f"/v2/service_instances/{iid}").status_code == 200


# ------------------------------------------------------ catalog decisions reach HTTP


def test_unknown_service_or_foreign_plan_is_400(sync_api: Running) -> None:
    iid = uid("u1")
    other = uid("u2")
    assert_error_shape(sync_api.api.provision(iid, provision_body(service_id="nope")), 400)
    assert_error_shape(sync_api.api.provision(other, provision_body(plan_id=OTHER_PLAN)), 400)
    assert_nothing_happened(sync_api, iid)
    assert_nothing_happened(sync_api, other)


def test_invalid_parameters_are_400_naming_the_field(sync_api: Running) -> None:
    iid = uid("params")
    response = sync_api.api.provision(iid, provision_body(parameters={"size": 1000}))
    assert "size" in assert_error_shape(response, 400)["description"]
    assert_nothing_happened(sync_api, iid)


def test_maintenance_info_conflict_is_422(sync_api: Running) -> None:
    iid = uid("mi")
    response = sync_api.api.provision(iid, provision_body(maintenance_info={"version": "9.9.9"}))
    assert assert_error_shape(response, 422)["error"] == "MaintenanceInfoConflict"
    assert_nothing_happened(sync_api, iid)


def test_bind_on_a_non_bindable_service_is_rejected_without_500(sync_api: Running) -> None:
    iid = uid("nb")
    bid = uid("nb-b")
    body = provision_body(service_id=OTHER_SERVICE_ID, plan_id=OTHER_PLAN, parameters=None)
    assert sync_api.api.provision(iid, body).status_code == 201
    response = sync_api.api.bind(
        iid, bid, bind_body(service_id=OTHER_SERVICE_ID, plan_id=OTHER_PLAN, parameters=None)
    )
    assert 400 <= response.status_code < 500
    assert_error_shape(response, response.status_code)


# ------------------------------------------------------------ HTTP errors, same shape


def test_unknown_route_and_wrong_method_are_json(sync_api: Running) -> None:
    assert_error_shape(sync_api.api.get("/v2/no-such-thing"), 404)
    assert_error_shape(sync_api.api.get("/not-osb-at-all", auth=None, version=None), 404)
    response = sync_api.api.request("POST", "/v2/catalog")
    assert_error_shape(response, 405)
    assert "GET" in response.headers["Allow"]
    assert_error_shape(
        sync_api.api.request("PATCH", "/v2/service_instances/i/service_bindings/b", json={}), 405
    )


# --------------------------------------------------------------- never a 500 (fuzz)

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
_field_values = st.one_of(_json, st.sampled_from([SERVICE_ID, SMALL_PLAN, LARGE_PLAN, "", "x"]))
_bodies = st.fixed_dictionaries(
    {},
    optional={
        "service_id": _field_values,
        "plan_id": _field_values,
        "context": _json,
        "parameters": _json,
        "maintenance_info": _json,
        "bind_resource": _json,
        "previous_values": _json,
        "app_guid": _json,
        "predecessor_binding_id": _field_values,
    },
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=_bodies,
    method=st.sampled_from(["provision", "update", "bind"]),
    flag=st.sampled_from(["true", "false"]),
)
def test_no_body_yields_a_500(sync_api: Running, body: dict[str, Any], method: str, flag: str) -> None:
    path = "/v2/service_instances/fuzz"
    if method == "bind":
        path += "/service_bindings/fuzz-b"
    verb = "PATCH" if method == "update" else "PUT"
    response = sync_api.api.request(verb, path, json=body, params={"accepts_incomplete": flag})
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert_error_shape(response, response.status_code)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    query=st.dictionaries(
        st.sampled_from(["service_id", "plan_id", "operation", "accepts_incomplete", "x"]),
        st.text(max_size=12),
        max_size=4,
    ),
    target=st.sampled_from(
        ["", "/last_operation", "/service_bindings/b", "/service_bindings/b/last_operation"]
    ),
    verb=st.sampled_from(["GET", "DELETE"]),
)
def test_no_query_yields_a_500(sync_api: Running, query: dict[str, str], target: str, verb: str) -> None:
    response = sync_api.api.request(verb, "/v2/service_instances/fuzz-q" + target, params=query)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert_error_shape(response, response.status_code)
