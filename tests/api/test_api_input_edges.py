"""Bad input at the edges: a 400 naming the field, never a 5xx, never a change of state.

Issue 10, problems 2 and 3, through real HTTP on loopback against a broker whose state
store is a SQLite file, a real PostgreSQL and a real MariaDB database:

* a NUL or another control character in an id, in ``organization_guid``, ``app_guid``,
  ``predecessor_binding_id`` or ``?operation=``, or an id longer than the store's
  255-character column, is a 400 (PostgreSQL used to refuse the NUL with a data error
  that the engine answered as "the state store is unavailable", 503);
* percent-encodings that are not UTF-8 (``%FF%FE``, ``%FE%FF``, ``%C0%C1``) are a 400,
  never decoded to the same replacement characters;
* a provision carries its tenancy at top level or in ``context``, never neither, and
  never as an empty string.

The property tests at the end send generated ids, strings and query values to every
endpoint and check that nothing answers 5xx and that no 4xx changes the stored state.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from api_support import Api, assert_error_shape, bind_body, make_settings, provision_body, uid
from http_brokers import SERVICE_ID, SMALL_PLAN, RecordingBroker
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from openbroker_aliyun.app import create_app, stop_driver
from openbroker_aliyun.testing.servers import serve_wsgi

SI = "/v2/service_instances"
TABLES = ("osb_instances", "osb_bindings", "osb_operations")


class Served:
    """A broker on loopback and a way to read its state store."""

    def __init__(self, api: Api, state_url: str) -> None:
        self.api = api
        self._db = create_engine(state_url)

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of the broker's tables, in a stable order."""
        with self._db.connect() as conn:
            return {
                table: sorted(tuple(map(repr, row)) for row in conn.execute(text(f"SELECT * FROM {table}")))
                for table in TABLES
            }

    def close(self) -> None:
        self._db.dispose()


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Served]:
    if request.param == "sqlite":
        state_url = f"sqlite:///{tmp_path / 'state.db'}"
    elif request.param == "postgresql":
        state_url = str(request.getfixturevalue("postgres_database"))
    else:
        state_url = str(request.getfixturevalue("mysql_database"))
    app = create_app(RecordingBroker(), make_settings(tmp_path, state_url=state_url))
    try:
        with serve_wsgi(app) as url:
            found = Served(Api(url), state_url)
            try:
                yield found
            finally:
                found.close()
    finally:
        stop_driver(app, timeout=5)


def _refused(served: Served, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    """Send the request; it must be a 400 with an OSB error body and change nothing."""
    before = served.snapshot()
    body = assert_error_shape(served.api.request(method, path, **kwargs), 400)
    assert served.snapshot() == before
    return body


LONG_ID = "x" * 256
BAD_IDS = {"nul": "a%00b", "control": "a%01b", "delete": "a%7Fb", "c1": "a%C2%85b", "too-long": LONG_ID}


@pytest.mark.parametrize("bad", sorted(BAD_IDS))
def test_bad_instance_ids_are_refused_on_every_route(served: Served, bad: str) -> None:
    iid = BAD_IDS[bad]
    query = {"service_id": SERVICE_ID, "plan_id": SMALL_PLAN}
    body = _refused(
        served, "PUT", f"{SI}/{iid}", json=provision_body(), params={"accepts_incomplete": "true"}
    )
    assert "instance_id" in body["description"]
    _refused(served, "PATCH", f"{SI}/{iid}", json={"service_id": SERVICE_ID, "plan_id": SMALL_PLAN})
    _refused(served, "GET", f"{SI}/{iid}", params=query)
    _refused(served, "DELETE", f"{SI}/{iid}", params=query)
    _refused(served, "GET", f"{SI}/{iid}/last_operation")
    _refused(served, "PUT", f"{SI}/{iid}/service_bindings/b-1", json=bind_body())
    _refused(served, "GET", f"{SI}/{iid}/service_bindings/b-1/last_operation")


@pytest.mark.parametrize("bad", sorted(BAD_IDS))
def test_bad_binding_ids_are_refused_on_every_route(served: Served, bad: str) -> None:
    iid, bid = uid("inst"), BAD_IDS[bad]
    assert served.api.provision(iid).status_code == 201
    query = {"service_id": SERVICE_ID, "plan_id": SMALL_PLAN}
    body = _refused(served, "PUT", f"{SI}/{iid}/service_bindings/{bid}", json=bind_body())
    assert "binding_id" in body["description"]
    _refused(served, "GET", f"{SI}/{iid}/service_bindings/{bid}", params=query)
    _refused(served, "DELETE", f"{SI}/{iid}/service_bindings/{bid}", params=query)
    _refused(served, "GET", f"{SI}/{iid}/service_bindings/{bid}/last_operation")


def test_the_longest_id_the_store_holds_is_accepted(served: Served) -> None:
    iid, bid = "i" * 255, "b" * 255
    assert served.api.provision(iid).status_code == 201
    assert served.api.bind(iid, bid).status_code == 201
    assert served.api.get(f"{SI}/{iid}").status_code == 200
    assert served.api.get(f"{SI}/{iid}/service_bindings/{bid}").status_code == 200


@pytest.mark.parametrize("encoded", ["%FF%FE", "%FE%FF", "%C0%C1", "abc%80", "%ED%A0%80"])
def test_ids_that_are_not_utf8_are_refused_not_replaced(served: Served, encoded: str) -> None:
    body = _refused(served, "PUT", f"{SI}/{encoded}", json=provision_body())
    assert "UTF-8" in body["description"]
    _refused(served, "GET", f"{SI}/{encoded}/last_operation")
    # Before, all of these named the instance "\ufffd\ufffd"; now none is that instance.
    assert served.api.provision(quote("\ufffd\ufffd")).status_code == 201
    _refused(served, "GET", f"{SI}/{encoded}")


@pytest.mark.parametrize(
    "field, value",
    [
        ("organization_guid", "org\x00guid"),
        ("space_guid", "space\x01"),
        ("organization_guid", "o" * 256),
        ("space_guid", "\ud800"),  # a lone surrogate, sent as the JSON escape \ud800
    ],
)
def test_bad_provision_strings_are_refused(served: Served, field: str, value: str) -> None:
    body = _refused(served, "PUT", f"{SI}/{uid('p')}", json=provision_body(**{field: value}))
    assert field in body["description"]


@pytest.mark.parametrize(
    "field, value", [("app_guid", "app\x00"), ("predecessor_binding_id", "b\x00"), ("app_guid", "a" * 256)]
)
def test_bad_bind_strings_are_refused(served: Served, field: str, value: str) -> None:
    iid = uid("inst")
    assert served.api.provision(iid).status_code == 201
    body = _refused(
        served, "PUT", f"{SI}/{iid}/service_bindings/{uid('b')}", json=bind_body(**{field: value})
    )
    assert field in body["description"]


@pytest.mark.parametrize("value", ["op\x00", "%FF", "x" * 10_001])
def test_bad_operation_query_is_refused_on_both_last_operation_routes(served: Served, value: str) -> None:
    iid = uid("inst")
    assert served.api.provision(iid).status_code == 201
    query = f"operation={quote(value, safe='%')}"
    _refused(served, "GET", f"{SI}/{iid}/last_operation?{query}")
    _refused(served, "GET", f"{SI}/{iid}/service_bindings/b-1/last_operation?{query}")


def test_bad_service_and_plan_ids_in_a_query_are_refused(served: Served) -> None:
    iid = uid("inst")
    assert served.api.provision(iid).status_code == 201
    _refused(served, "DELETE", f"{SI}/{iid}", params={"service_id": "s\x00", "plan_id": SMALL_PLAN})
    _refused(served, "GET", f"{SI}/{iid}", params={"service_id": SERVICE_ID, "plan_id": "p" * 256})


# ------------------------------------------------------------------------ tenancy


@pytest.mark.parametrize(
    "drop, context",
    [
        (("organization_guid", "space_guid"), None),
        (("organization_guid", "space_guid"), {}),
        (("organization_guid", "space_guid"), {"platform": "cloudfoundry", "organization_guid": "o"}),
        (("organization_guid", "space_guid"), {"platform": "kubernetes", "namespace": "dev"}),
        (("space_guid",), None),
    ],
)
def test_a_provision_without_tenancy_is_refused(
    served: Served, drop: tuple[str, ...], context: dict[str, Any] | None
) -> None:
    request = provision_body(context=context)
    for key in drop:
        request.pop(key)
    body = _refused(served, "PUT", f"{SI}/{uid('t')}", json=request)
    for key in drop:
        assert key in body["description"]
    assert "context" in body["description"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"organization_guid": ""},
        {"space_guid": ""},
        {"organization_guid": None, "space_guid": None, "context": {"namespace": "", "clusterid": "c"}},
        {
            "organization_guid": None,
            "space_guid": None,
            "context": {"organization_guid": "", "space_guid": "s"},
        },
    ],
)
def test_empty_tenancy_strings_are_never_valid(served: Served, overrides: dict[str, Any]) -> None:
    body = _refused(served, "PUT", f"{SI}/{uid('t')}", json=provision_body(**overrides))
    assert "empty" in body["description"]


@pytest.mark.parametrize(
    "overrides",
    [
        # Korifi: top level only, no context.
        {"context": None},
        # Cloud Foundry's context alone.
        {"organization_guid": None, "space_guid": None},
        # Kubernetes (profile and provider-osb spellings).
        {"organization_guid": None, "space_guid": None, "context": {"namespace": "dev", "clusterid": "c-1"}},
        {"organization_guid": None, "space_guid": None, "context": {"namespace": "dev", "clusterId": "c-2"}},
    ],
)
def test_platforms_that_carry_tenancy_one_way_keep_working(served: Served, overrides: dict[str, Any]) -> None:
    request = {key: value for key, value in provision_body(**overrides).items() if value is not None}
    assert served.api.provision(uid("ok"), request).status_code == 201


# ---------------------------------------------------------------- property tests

# Ids as a platform or an attacker might send them: any text (NUL, controls, lone
# surrogates, astral characters), some long, plus raw bytes that need not be UTF-8.
_TEXT = st.text(st.characters(codec=None), max_size=300) | st.text(max_size=8).map(lambda s: s * 40)
_ID = _TEXT.filter(bool).map(lambda s: quote(s.encode("utf-8", "surrogatepass"), safe="")) | st.binary(
    min_size=1, max_size=40
).map(lambda b: quote(b, safe=""))
_VALUE = st.none() | _TEXT | st.integers() | st.just("")


def _encoded(value: Any) -> str:
    """``value`` percent-encoded as UTF-8, lone surrogates included (they become bad UTF-8)."""
    return quote(str(value).encode("utf-8", "surrogatepass"), safe="")


def _with_query(path: str, query: dict[str, Any]) -> str:
    """``path?k=v&...`` for the values that are not None (requests cannot encode them all)."""
    pairs = [f"{key}={_encoded(value)}" for key, value in query.items() if value is not None]
    return f"{path}?{'&'.join(pairs)}" if pairs else path


def _endpoint_requests() -> st.SearchStrategy[tuple[str, str, dict[str, Any]]]:
    """(method, path, requests kwargs) for every OSB endpoint with generated inputs."""

    def build(kind: int, iid: str, bid: str, a: Any, b: Any, c: Any) -> tuple[str, str, dict[str, Any]]:
        inst, bind = f"{SI}/{iid}", f"{SI}/{iid}/service_bindings/{bid}"
        query = {"service_id": SERVICE_ID if a is None else a, "plan_id": SMALL_PLAN if b is None else b}
        return [
            ("PUT", inst, {"json": provision_body(organization_guid=a, space_guid=b, context={"x": c})}),
            ("PATCH", inst, {"json": {"service_id": SERVICE_ID, "plan_id": a, "context": {"space_guid": b}}}),
            ("GET", _with_query(inst, query), {}),
            ("DELETE", _with_query(inst, query), {}),
            ("GET", _with_query(inst + "/last_operation", {"operation": a, "service_id": b}), {}),
            ("PUT", bind, {"json": bind_body(app_guid=a, predecessor_binding_id=b)}),
            ("GET", _with_query(bind, query), {}),
            ("DELETE", _with_query(bind, query), {}),
            ("GET", _with_query(bind + "/last_operation", {"operation": a, "plan_id": c}), {}),
        ][kind]

    return st.builds(build, st.integers(0, 8), _ID, _ID, _VALUE, _VALUE, _VALUE)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(call=_endpoint_requests())
def test_no_5xx_and_no_state_change_on_4xx(served: Served, call: tuple[str, str, dict[str, Any]]) -> None:
    method, path, kwargs = call
    before = served.snapshot()
    response = served.api.request(method, path, **kwargs)
    assert response.status_code < 500, (method, path, response.text)
    if 400 <= response.status_code < 500:
        assert_error_shape(response, response.status_code)
        assert served.snapshot() == before, (method, path, response.status_code)
