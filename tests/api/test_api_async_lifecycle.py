"""Asynchronous operations over real HTTP: 202s, last_operation, Retry-After (A4, A5),
the in-flight rows of A6 and deletes of half-created resources (A7).

The async test broker keeps an operation ``in progress`` while its id is held, so the
in-flight states are reached deterministically; releasing lets the real driver finish.
"""

from __future__ import annotations

from pathlib import Path

from api_support import (
    FAST_DRIVER,
    Api,
    Running,
    assert_error_shape,
    bind_body,
    make_settings,
    provision_body,
    uid,
)
from http_brokers import BINDING_PASSWORD, LARGE_PLAN, SERVICE_ID, SMALL_PLAN, AsyncRecordingBroker

from openbroker_aliyun.app import create_app, runtime, stop_driver
from openbroker_aliyun.testing.servers import serve_wsgi

SI = "/v2/service_instances"
ASYNC = {"accepts_incomplete": "true"}


def held(api: Running) -> AsyncRecordingBroker:
    assert isinstance(api.broker, AsyncRecordingBroker)
    return api.broker


def provision_async(api: Running, iid: str, hold: bool = False) -> str:
    if hold:
        held(api).hold.add(iid)
    response = api.api.provision(iid, params=ASYNC)
    assert response.status_code == 202, response.text
    body = response.json()
    assert "credentials" not in body
    return str(body["operation"])


def provisioned(api: Running, iid: str) -> None:
    operation = provision_async(api, iid)
    assert api.api.wait(iid, operation=operation).json()["state"] == "succeeded"


# --------------------------------------------------------------------- AsyncRequired


def test_async_only_operations_need_accepts_incomplete(async_api: Running) -> None:
    iid = uid("ar")
    bid = uid("ar-b")
    api = async_api.api
    for params in ({}, {"accepts_incomplete": "false"}):
        response = api.provision(iid, params=params)
        assert assert_error_shape(response, 422)["error"] == "AsyncRequired"
    assert async_api.broker.calls_for(iid) == []
    assert_error_shape(api.last_operation(iid), 404)

    provisioned(async_api, iid)
    update = {"service_id": SERVICE_ID, "parameters": {"size": 3}}
    assert assert_error_shape(api.patch(f"{SI}/{iid}", json=update), 422)["error"] == "AsyncRequired"
    assert assert_error_shape(api.bind(iid, bid), 422)["error"] == "AsyncRequired"
    assert assert_error_shape(api.deprovision(iid), 422)["error"] == "AsyncRequired"
    assert api.get(f"{SI}/{iid}").status_code == 200


# ------------------------------------------------------------------------ provision


def test_async_provision_polling_and_retry_after(async_api: Running) -> None:
    iid = uid("ap")
    api = async_api.api
    operation = provision_async(async_api, iid, hold=True)
    assert operation

    polled = api.last_operation(iid, params={"operation": operation, "service_id": SERVICE_ID})
    assert polled.status_code == 200
    assert polled.json()["state"] == "in progress"
    # A5: integer seconds, at least 1 (the step asked for 0.05 s).
    assert polled.headers["Retry-After"] == "1"

    # A6: identical PUT while in flight -> 202 with the same operation; different -> 409.
    again = api.provision(iid, params=ASYNC)
    assert again.status_code == 202
    assert again.json()["operation"] == operation
    assert_error_shape(api.provision(iid, provision_body(parameters={"size": 9}), params=ASYNC), 409)
    # A4: GET instance is 404 while provisioning.
    assert_error_shape(api.get(f"{SI}/{iid}"), 404)

    held(async_api).release(iid)
    done = api.wait(iid, operation=operation)
    assert done.json()["state"] == "succeeded"
    assert "Retry-After" not in done.headers
    # Finished: the identical PUT is now 200.
    assert api.provision(iid, params=ASYNC).status_code == 200
    assert api.get(f"{SI}/{iid}").json()["dashboard_url"] == f"https://dashboard.example/{iid}"


def test_failed_provision_is_reported_and_can_start_again(async_api: Running) -> None:
    iid = uid("fp")
    api = async_api.api
    async_api.broker.fail.add(iid)
    operation = provision_async(async_api, iid)
    failed = api.wait(iid, operation=operation)
    assert failed.status_code == 200
    body = failed.json()
    assert body["state"] == "failed"
    assert body["description"] == "provision failed on purpose"

    async_api.broker.fail.discard(iid)
    retried = api.provision(iid, params=ASYNC)
    assert retried.status_code == 202
    assert api.wait(iid, operation=retried.json()["operation"]).json()["state"] == "succeeded"


# --------------------------------------------------------------------------- update


def test_async_update_in_flight(async_api: Running) -> None:
    iid = uid("au")
    api = async_api.api
    provisioned(async_api, iid)
    held(async_api).hold.add(iid)
    update = {"service_id": SERVICE_ID, "plan_id": LARGE_PLAN}
    first = api.patch(f"{SI}/{iid}", json=update, params=ASYNC)
    assert first.status_code == 202
    operation = first.json()["operation"]
    assert operation

    # A6: the same PATCH again while in flight -> 202, same operation.
    again = api.patch(f"{SI}/{iid}", json=update, params=ASYNC)
    assert again.status_code == 202 and again.json()["operation"] == operation
    # A4: GET instance while updating -> 422 ConcurrencyError; so is another mutation.
    assert assert_error_shape(api.get(f"{SI}/{iid}"), 422)["error"] == "ConcurrencyError"
    other = {"service_id": SERVICE_ID, "parameters": {"size": 2}}
    assert (
        assert_error_shape(api.patch(f"{SI}/{iid}", json=other, params=ASYNC), 422)["error"]
        == "ConcurrencyError"
    )

    polled = api.last_operation(iid, params={"operation": operation, "plan_id": SMALL_PLAN})
    assert polled.json()["state"] == "in progress" and "Retry-After" in polled.headers
    held(async_api).release(iid)
    assert api.wait(iid, operation=operation).json()["state"] == "succeeded"
    assert api.get(f"{SI}/{iid}").json()["plan_id"] == LARGE_PLAN


def test_failed_update_reports_usable_and_repeatable(async_api: Running) -> None:
    api = async_api.api
    iid = uid("fu")
    provisioned(async_api, iid)
    async_api.broker.fail.add(iid)
    response = api.patch(
        f"{SI}/{iid}", json={"service_id": SERVICE_ID, "parameters": {"size": 4}}, params=ASYNC
    )
    assert response.status_code == 202
    body = api.wait(iid, operation=response.json()["operation"]).json()
    assert body["state"] == "failed"
    assert body["instance_usable"] is True
    assert body["update_repeatable"] is False


# ----------------------------------------------------------------------- deprovision


def test_async_deprovision_in_flight_then_gone(async_api: Running) -> None:
    iid = uid("ad")
    api = async_api.api
    provisioned(async_api, iid)
    held(async_api).hold.add(iid)
    first = api.deprovision(iid, params=ASYNC)
    assert first.status_code == 202
    operation = first.json()["operation"]
    # A6: DELETE again while in flight -> 202, same operation.
    again = api.deprovision(iid, params=ASYNC)
    assert again.status_code == 202 and again.json()["operation"] == operation

    held(async_api).release(iid)
    final = api.wait(iid, operation=operation)
    # After an async delete: 200 succeeded (remembered) or 410, both mean "gone".
    assert final.status_code == 410 or final.json()["state"] == "succeeded"
    assert_error_shape(api.deprovision(iid, params=ASYNC), 410)


def test_delete_during_provision_is_accepted_never_500(async_api: Running) -> None:
    """A7: the platform's orphan mitigation DELETEs a half-created instance."""
    iid = uid("half")
    api = async_api.api
    provision_async(async_api, iid, hold=True)
    response = api.deprovision(iid, params=ASYNC)
    assert response.status_code in (200, 202), response.text
    held(async_api).release(iid)
    if response.status_code == 202:
        final = api.wait(iid, operation=response.json()["operation"])
        assert final.status_code == 410 or final.json()["state"] == "succeeded"
    assert_error_shape(api.deprovision(iid, params=ASYNC), 410)
    assert_error_shape(api.get(f"{SI}/{iid}"), 404)


# -------------------------------------------------------------------------- bindings


def test_async_bind_202_without_credentials_then_fetch(async_api: Running) -> None:
    iid = uid("ab")
    bid = uid("ab-1")
    api = async_api.api
    provisioned(async_api, iid)
    held(async_api).hold.add(bid)
    first = api.bind(iid, bid, params=ASYNC)
    assert first.status_code == 202
    body = first.json()
    assert set(body) <= {"operation"} and "credentials" not in first.text
    assert BINDING_PASSWORD not in first.text
    operation = body["operation"]

    again = api.bind(iid, bid, params=ASYNC)
    assert again.status_code == 202 and again.json()["operation"] == operation
    assert_error_shape(api.bind(iid, bid, bind_body(parameters={"role": "writer"}), params=ASYNC), 409)
    # A4: GET binding while binding -> 404.
    assert_error_shape(api.get(f"{SI}/{iid}/service_bindings/{bid}"), 404)
    polled = api.last_operation(iid, bid, params={"operation": operation})
    assert polled.json()["state"] == "in progress"
    assert polled.headers["Retry-After"] == "1"

    held(async_api).release(bid)
    assert api.wait(iid, bid, operation=operation).json()["state"] == "succeeded"
    fetched = api.get(f"{SI}/{iid}/service_bindings/{bid}")
    assert fetched.status_code == 200
    assert fetched.json()["credentials"]["password"] == BINDING_PASSWORD
    # Finished: the identical PUT is 200 with the credentials.
    done = api.bind(iid, bid, params=ASYNC)
    assert done.status_code == 200 and done.json()["credentials"]["password"] == BINDING_PASSWORD


def test_async_unbind_in_flight_then_gone(async_api: Running) -> None:
    iid = uid("au2")
    bid = uid("au2-1")
    api = async_api.api
    provisioned(async_api, iid)
    bound = api.bind(iid, bid, params=ASYNC)
    assert api.wait(iid, bid, operation=bound.json()["operation"]).json()["state"] == "succeeded"

    held(async_api).hold.add(bid)
    first = api.unbind(iid, bid, params=ASYNC)
    assert first.status_code == 202
    operation = first.json()["operation"]
    again = api.unbind(iid, bid, params=ASYNC)
    assert again.status_code == 202 and again.json()["operation"] == operation
    held(async_api).release(bid)
    final = api.wait(iid, bid, operation=operation)
    assert final.status_code == 410 or final.json()["state"] == "succeeded"
    assert_error_shape(api.unbind(iid, bid, params=ASYNC), 410)


def test_delete_of_half_created_binding_never_500(async_api: Running) -> None:
    iid = uid("hb")
    bid = uid("hb-1")
    api = async_api.api
    provisioned(async_api, iid)
    held(async_api).hold.add(bid)
    assert api.bind(iid, bid, params=ASYNC).status_code == 202
    response = api.unbind(iid, bid, params=ASYNC)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert_error_shape(response, response.status_code)
    held(async_api).release(bid)


# ------------------------------------------------------ create_app's own engine, lazily


def test_create_app_engine_drives_async_operations(tmp_path: Path) -> None:
    """The engine create_app builds starts its driver on the first request."""
    iid = uid("lazy")
    from openbroker_aliyun.engine import DriverSettings

    broker = AsyncRecordingBroker()
    app = create_app(broker, make_settings(tmp_path), driver_settings=DriverSettings(**FAST_DRIVER))
    driver = runtime(app).driver
    assert driver is not None and not driver.running
    try:
        with serve_wsgi(app) as url:
            api = Api(url)
            assert api.get("/health/live", auth=None).status_code == 200
            assert driver.running
            response = api.provision(iid, params=ASYNC)
            assert response.status_code == 202
            assert api.wait(iid, operation=response.json()["operation"]).json()["state"] == "succeeded"
    finally:
        stop_driver(app, timeout=5)
    assert not driver.running
