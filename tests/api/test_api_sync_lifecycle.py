"""The ten endpoints with a synchronous broker, over real HTTP: status codes and bodies of
OSB tables A3/A4, the idempotency rows of A6 and the deletes of A7.
"""

from __future__ import annotations

from api_support import Running, assert_error_shape, bind_body, provision_body, uid
from http_brokers import BINDING_PASSWORD, EXCEPTION_MARKER, LARGE_PLAN, SERVICE_ID, SMALL_PLAN

SI = "/v2/service_instances"


def test_provision_201_then_identical_200_then_different_409(sync_api: Running) -> None:
    iid = uid("p1")
    api = sync_api.api
    created = api.provision(iid)
    assert created.status_code == 201
    body = created.json()
    assert body["dashboard_url"] == f"https://dashboard.example/{iid}"
    assert "operation" not in body
    assert body.get("metadata", {}).get("labels") == {"size": "5"}
    assert set(body["metadata"]) == {"labels", "attributes"}

    again = api.provision(iid)
    assert again.status_code == 200
    assert again.json().get("dashboard_url") == f"https://dashboard.example/{iid}"
    assert len(sync_api.broker.steps("provision", iid)) == 1

    assert_error_shape(api.provision(iid, provision_body(parameters={"size": 6})), 409)
    assert_error_shape(api.provision(iid, provision_body(plan_id=LARGE_PLAN)), 409)
    assert len(sync_api.broker.steps("provision", iid)) == 1


def test_provision_parameters_reach_the_step_with_defaults(sync_api: Running) -> None:
    iid = uid("defaults")
    assert sync_api.api.provision(iid, provision_body(parameters=None)).status_code == 201
    (op,) = sync_api.broker.steps("provision", iid)
    assert op.parameters == {"size": 10}


def test_cf_context_reaches_the_broker(sync_api: Running) -> None:
    iid = uid("cf-ctx")
    context = {
        "platform": "cloudfoundry",
        "organization_guid": "o-guid",
        "organization_name": "system",
        "space_guid": "s-guid",
        "space_name": "dev",
        "instance_name": "my-db",
    }
    assert sync_api.api.provision(iid, provision_body(context=context)).status_code == 201
    (op,) = sync_api.broker.steps("provision", iid)
    ctx = op.instance.context
    assert (ctx.platform, ctx.organization_name, ctx.space_guid, ctx.instance_name) == (
        "cloudfoundry",
        "system",
        "s-guid",
        "my-db",
    )


def test_kubernetes_context_in_both_spellings_reaches_the_broker(sync_api: Running) -> None:
    profile = {"platform": "kubernetes", "namespace": "dev", "clusterid": "c-1", "instance_name": "db-a"}
    camel = {"platform": "kubernetes", "namespace": "dev", "clusterId": "c-2", "instanceName": "db-b"}
    ids = uid("k8s-profile"), uid("k8s-camel")
    for iid, context in zip(ids, (profile, camel), strict=True):
        body = provision_body(context=context, organization_guid=None, space_guid=None)
        body = {key: value for key, value in body.items() if value is not None}
        assert sync_api.api.provision(iid, body).status_code == 201
    (first,) = sync_api.broker.steps("provision", ids[0])
    (second,) = sync_api.broker.steps("provision", ids[1])
    assert (first.instance.context.cluster_id, first.instance.context.instance_name) == ("c-1", "db-a")
    assert (second.instance.context.cluster_id, second.instance.context.instance_name) == ("c-2", "db-b")
    assert second.instance.context.namespace == "dev"


def test_provision_without_context_but_with_org_space(sync_api: Running) -> None:
    """Korifi sends no context, only the top-level tenancy: never reject it for that."""
    iid = uid("bare")
    body = {"service_id": SERVICE_ID, "plan_id": SMALL_PLAN, "organization_guid": "o", "space_guid": "s"}
    assert sync_api.api.provision(iid, body).status_code == 201


def test_fetch_instance(sync_api: Running) -> None:
    iid = uid("f1")
    api = sync_api.api
    assert_error_shape(api.get(f"{SI}/{iid}"), 404)
    assert api.provision(iid).status_code == 201
    response = api.get(f"{SI}/{iid}", params={"service_id": SERVICE_ID, "plan_id": SMALL_PLAN})
    assert response.status_code == 200
    body = response.json()
    assert (body["service_id"], body["plan_id"]) == (SERVICE_ID, SMALL_PLAN)
    assert body["dashboard_url"] == f"https://dashboard.example/{iid}"
    assert body["parameters"] == {"size": 5}
    assert body.get("maintenance_info", {"version": "1.0.0"}) == {"version": "1.0.0"}


def test_update_plan_and_parameters(sync_api: Running) -> None:
    iid = uid("u1")
    api = sync_api.api
    assert api.provision(iid).status_code == 201
    response = api.patch(
        f"{SI}/{iid}",
        json={"service_id": SERVICE_ID, "plan_id": LARGE_PLAN, "previous_values": {"plan_id": SMALL_PLAN}},
    )
    assert response.status_code == 200
    assert "operation" not in response.json()
    assert api.get(f"{SI}/{iid}").json()["plan_id"] == LARGE_PLAN

    response = api.patch(f"{SI}/{iid}", json={"service_id": SERVICE_ID, "parameters": {"label": "new"}})
    assert response.status_code == 200
    assert api.get(f"{SI}/{iid}").json()["parameters"] == {"size": 5, "label": "new"}
    (first, second) = sync_api.broker.steps("update", iid)
    assert first.plan_id == LARGE_PLAN
    assert second.parameters == {"label": "new"}


def test_update_bad_parameters_400_changes_nothing(sync_api: Running) -> None:
    iid = uid("u2")
    api = sync_api.api
    assert api.provision(iid).status_code == 201
    response = api.patch(f"{SI}/{iid}", json={"service_id": SERVICE_ID, "parameters": {"size": "big"}})
    assert "size" in assert_error_shape(response, 400)["description"]
    assert sync_api.broker.steps("update", iid) == []
    assert api.get(f"{SI}/{iid}").json()["parameters"] == {"size": 5}


def test_update_context_only_and_no_change_are_200(sync_api: Running) -> None:
    iid = uid("u3")
    api = sync_api.api
    assert api.provision(iid).status_code == 201
    context = {"platform": "cloudfoundry", "instance_name": "renamed"}
    assert api.patch(f"{SI}/{iid}", json={"service_id": SERVICE_ID, "context": context}).status_code == 200
    assert api.patch(f"{SI}/{iid}", json={"service_id": SERVICE_ID}).status_code == 200


def test_update_of_unknown_instance_is_a_4xx(sync_api: Running) -> None:
    iid = uid("nope")
    response = sync_api.api.patch(f"{SI}/{iid}", json={"service_id": SERVICE_ID, "parameters": {"size": 2}})
    assert 400 <= response.status_code < 500
    assert_error_shape(response, response.status_code)


def test_deprovision_200_then_410(sync_api: Running) -> None:
    iid = uid("d1")
    api = sync_api.api
    assert api.provision(iid).status_code == 201
    response = api.deprovision(iid)
    assert response.status_code == 200 and response.json() == {}
    assert_error_shape(api.deprovision(iid), 410)
    assert_error_shape(api.get(f"{SI}/{iid}"), 404)
    assert len(sync_api.broker.steps("deprovision", iid)) == 1


def test_deprovision_of_unknown_instance_is_410(sync_api: Running) -> None:
    """A7: the platform's orphan-mitigation DELETEs of what never existed."""
    iid = uid("never-existed")
    assert_error_shape(sync_api.api.deprovision(iid, params={"accepts_incomplete": "true"}), 410)
    assert sync_api.broker.calls_for(iid) == []


def test_instance_can_be_provisioned_again_after_delete(sync_api: Running) -> None:
    iid = uid("again")
    api = sync_api.api
    assert api.provision(iid).status_code == 201
    assert api.deprovision(iid).status_code == 200
    assert api.provision(iid).status_code == 201


# ------------------------------------------------------------------------ bindings


def test_bind_201_then_identical_200_then_different_409(sync_api: Running) -> None:
    iid = uid("b-i")
    bid = uid("b1")
    api = sync_api.api
    assert api.provision(iid).status_code == 201
    created = api.bind(iid, bid)
    assert created.status_code == 201
    body = created.json()
    assert body["credentials"]["password"] == BINDING_PASSWORD
    assert body["credentials"]["username"] == f"u_{bid}"
    assert body["endpoints"] == [{"host": "db.example", "ports": ["5432"], "protocol": "tcp"}]
    assert "operation" not in body

    again = api.bind(iid, bid)
    assert again.status_code == 200
    assert again.json()["credentials"] == body["credentials"]
    assert len(sync_api.broker.binding_steps("bind", bid)) == 1

    assert_error_shape(api.bind(iid, bid, bind_body(parameters={"role": "writer"})), 409)
    (op,) = sync_api.broker.binding_steps("bind", bid)
    assert op.parameters == {"role": "reader"}
    assert op.binding.bind_resource == {"app_guid": "app-guid"}


def test_bind_context_reaches_the_broker(sync_api: Running) -> None:
    iid = uid("bc")
    bid = uid("bc-1")
    assert sync_api.api.provision(iid).status_code == 201
    context = {"platform": "kubernetes", "namespace": "ns", "clusterId": "c-9"}
    assert sync_api.api.bind(iid, bid, bind_body(context=context)).status_code == 201
    (op,) = sync_api.broker.binding_steps("bind", bid)
    assert op.binding.context.cluster_id == "c-9"
    assert op.binding.context.namespace == "ns"


def test_fetch_binding(sync_api: Running) -> None:
    iid = uid("fb")
    bid = uid("fb-1")
    api = sync_api.api
    assert api.provision(iid).status_code == 201
    assert_error_shape(api.get(f"{SI}/{iid}/service_bindings/{uid('nope')}"), 404)
    assert api.bind(iid, bid).status_code == 201
    response = api.get(f"{SI}/{iid}/service_bindings/{bid}")
    assert response.status_code == 200
    assert response.json()["credentials"]["password"] == BINDING_PASSWORD
    assert response.json()["endpoints"][0]["host"] == "db.example"


def test_bind_invalid_parameters_400(sync_api: Running) -> None:
    iid = uid("bp")
    bid = uid("bp-1")
    assert sync_api.api.provision(iid).status_code == 201
    response = sync_api.api.bind(iid, bid, bind_body(parameters={"role": "admin"}))
    assert "role" in assert_error_shape(response, 400)["description"]
    assert sync_api.broker.binding_steps("bind", bid) == []


def test_bind_on_unknown_instance_is_a_4xx(sync_api: Running) -> None:
    iid = uid("no-instance")
    response = sync_api.api.bind(iid, uid("b"))
    assert 400 <= response.status_code < 500
    assert_error_shape(response, response.status_code)


def test_unbind_200_then_410(sync_api: Running) -> None:
    iid = uid("ub")
    bid = uid("ub-1")
    api = sync_api.api
    assert api.provision(iid).status_code == 201
    assert api.bind(iid, bid).status_code == 201
    response = api.unbind(iid, bid)
    assert response.status_code == 200 and response.json() == {}
    assert_error_shape(api.unbind(iid, bid), 410)
    assert_error_shape(api.get(f"{SI}/{iid}/service_bindings/{bid}"), 404)


def test_unbind_of_unknown_binding_or_instance_is_410(sync_api: Running) -> None:
    iid = uid("ub2")
    bid = uid("never")
    assert sync_api.api.provision(iid).status_code == 201
    assert_error_shape(sync_api.api.unbind(iid, bid), 410)
    assert_error_shape(sync_api.api.unbind(uid("no-instance"), bid), 410)


def test_last_operation_of_unknown_resources_is_404(sync_api: Running) -> None:
    iid = uid("lo")
    assert_error_shape(sync_api.api.last_operation(uid("nothing")), 404)
    assert sync_api.api.provision(iid).status_code == 201
    assert_error_shape(sync_api.api.last_operation(iid, uid("nothing")), 404)


# ------------------------------------------------------------ broker failures (500)


def test_broker_bug_is_a_500_without_internals(sync_api: Running) -> None:
    iid = uid("boom")
    sync_api.broker.explode.add(iid)
    response = sync_api.api.provision(iid)
    body = assert_error_shape(response, 500)
    assert EXCEPTION_MARKER not in response.text
    assert "Traceback" not in response.text
    assert body["description"]
    # G10 (SHOULD for 5xx): the failed create left nothing behind.
    sync_api.broker.explode.discard(iid)
    assert sync_api.api.provision(iid).status_code == 201
