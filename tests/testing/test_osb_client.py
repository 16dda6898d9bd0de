"""The platform-like OSB client, against a scripted broker over real HTTP."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from dataclasses import dataclass, field

import pytest
from scripted_broker import PLAN_ID, SERVICE_ID, SLOW_PLAN_ID, ScriptedBroker, Seen
from werkzeug.wrappers import Response

from openbroker_aliyun.testing.client import (
    AsyncOperationFailed,
    BadBrokerResponse,
    BrokerRejected,
    OSBClient,
    PollingPolicy,
    PollingTimedOut,
)
from openbroker_aliyun.testing.profiles import CloudFoundryProfile, KubernetesProfile

SECRET = "s3cr3t-Pa55word"


@dataclass
class FakeTime:
    """A clock that moves only when the client sleeps: no real waiting, exact waits seen."""

    now: float = 1000.0
    waits: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def make_client(url: str, time: FakeTime | None = None, **kwargs: object) -> OSBClient:
    time = time or FakeTime()
    policy = PollingPolicy(
        interval=0.5, interval_cap=2.0, max_duration=30.0, sleep=time.sleep, clock=time.clock
    )
    return OSBClient(url, "admin", "pw", polling=policy, **kwargs)  # type: ignore[arg-type]


def decode_identity(header: str) -> tuple[str, dict[str, object]]:
    platform, value = header.split(" ", 1)
    return platform, json.loads(base64.b64decode(value))


def ids() -> tuple[str, str]:
    return str(uuid.uuid4()), str(uuid.uuid4())


# ------------------------------------------------------------------ what is sent


def test_cloud_foundry_provision_sends_what_cloud_controller_sends(
    scripted: tuple[ScriptedBroker, str],
) -> None:
    broker, url = scripted
    broker.on("PUT", "instance", (201, {}))
    profile = CloudFoundryProfile(organization_name="acme", space_name="dev")
    client = make_client(url, profile=profile)
    instance_id, _ = ids()

    answer = client.provision(instance_id, SERVICE_ID, PLAN_ID, parameters={"size": 2}, instance_name="my-db")

    assert answer.status == 201
    (seen,) = broker.requests("PUT", "instance")
    assert seen.args == {"accepts_incomplete": "true"}
    assert seen.headers["X-Broker-Api-Version"] == "2.17"
    assert seen.headers["Authorization"] == "Basic " + base64.b64encode(b"admin:pw").decode()
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.headers["X-Broker-Api-Request-Identity"] == answer.request_identity
    uuid.UUID(answer.request_identity)
    assert seen.headers["X-Vcap-Request-Id"]
    platform, identity = decode_identity(seen.headers["X-Broker-Api-Originating-Identity"])
    assert (platform, identity) == ("cloudfoundry", {"user_id": profile.user_id})
    assert seen.body["service_id"] == SERVICE_ID and seen.body["plan_id"] == PLAN_ID
    assert seen.body["parameters"] == {"size": 2}
    assert seen.body["organization_guid"] == profile.organization_guid
    assert seen.body["space_guid"] == profile.space_guid
    context = seen.body["context"]
    assert context["platform"] == "cloudfoundry"
    assert context["instance_name"] == "my-db"
    assert context["organization_name"] == "acme" and context["space_name"] == "dev"
    assert context["organization_guid"] == profile.organization_guid


def test_each_request_gets_a_fresh_request_identity(scripted: tuple[ScriptedBroker, str]) -> None:
    _, url = scripted
    client = make_client(url)
    first, second = client.catalog(), client.catalog()
    assert first.request_identity != second.request_identity


def test_catalog_is_fetched_without_a_user_identity_and_sends_if_none_match(
    scripted: tuple[ScriptedBroker, str],
) -> None:
    broker, url = scripted
    client = make_client(url)
    client.catalog(if_none_match='"abc"')
    (seen,) = broker.requests("GET", "catalog")
    assert "X-Broker-Api-Originating-Identity" not in seen.headers
    assert seen.headers["If-None-Match"] == '"abc"'


def test_cloud_foundry_bind_sends_app_and_no_instance_name(scripted: tuple[ScriptedBroker, str]) -> None:
    broker, url = scripted
    broker.on("PUT", "binding", (201, {"credentials": {"uri": "x://"}}))
    client = make_client(url)
    instance_id, binding_id = ids()

    client.bind(instance_id, binding_id, SERVICE_ID, PLAN_ID, parameters={"role": "ro"})
    client.bind(instance_id, binding_id, SERVICE_ID, PLAN_ID, app_guid=None)

    app_bind, service_key = broker.requests("PUT", "binding")
    profile = client.profile
    assert isinstance(profile, CloudFoundryProfile)
    assert app_bind.path == f"/v2/service_instances/{instance_id}/service_bindings/{binding_id}"
    assert app_bind.body["app_guid"] == profile.app_guid
    assert app_bind.body["bind_resource"] == {"app_guid": profile.app_guid, "space_guid": profile.space_guid}
    assert "instance_name" not in app_bind.body["context"]
    assert app_bind.body["parameters"] == {"role": "ro"}
    assert service_key.body["bind_resource"] == {} and "app_guid" not in service_key.body


def test_deletes_send_parameters_in_the_query_string_and_no_body(
    scripted: tuple[ScriptedBroker, str],
) -> None:
    broker, url = scripted
    broker.on("DELETE", "instance", (200, {}))
    broker.on("DELETE", "binding", (200, {}))
    client = make_client(url)
    instance_id, binding_id = ids()

    client.unbind(instance_id, binding_id, SERVICE_ID, PLAN_ID)
    client.deprovision(instance_id, SERVICE_ID, PLAN_ID, accepts_incomplete=False)

    unbind, deprovision = broker.requests("DELETE")
    assert unbind.args == {"service_id": SERVICE_ID, "plan_id": PLAN_ID, "accepts_incomplete": "true"}
    assert deprovision.args == {"service_id": SERVICE_ID, "plan_id": PLAN_ID, "accepts_incomplete": "false"}
    assert unbind.raw_body == b"" and deprovision.raw_body == b""


def test_kubernetes_profile(scripted: tuple[ScriptedBroker, str]) -> None:
    broker, url = scripted
    broker.on("PUT", "instance", (201, {}))
    broker.on("PUT", "binding", (201, {"credentials": {}}))
    client = make_client(url, platform="kubernetes")
    profile = client.profile
    assert isinstance(profile, KubernetesProfile)
    instance_id, binding_id = ids()

    client.provision(instance_id, SERVICE_ID, PLAN_ID, instance_name="db")
    client.bind(instance_id, binding_id, SERVICE_ID, PLAN_ID)

    provision, bind = broker.seen
    platform, identity = decode_identity(provision.headers["X-Broker-Api-Originating-Identity"])
    assert platform == "kubernetes"
    assert identity == {
        "username": profile.username,
        "uid": profile.uid,
        "groups": ["system:authenticated"],
        "extra": {},
    }
    assert provision.body["context"] == {
        "platform": "kubernetes",
        "namespace": "default",
        "clusterid": profile.clusterid,
        "instance_name": "db",
    }
    assert provision.body["organization_guid"] == profile.clusterid
    assert provision.body["space_guid"] == profile.namespace_uid
    assert bind.body["context"] == {
        "platform": "kubernetes",
        "namespace": "default",
        "clusterid": profile.clusterid,
    }
    assert bind.body["app_guid"] == profile.namespace_uid


def test_headers_can_be_removed_or_replaced_for_negative_tests(scripted: tuple[ScriptedBroker, str]) -> None:
    broker, url = scripted
    client = make_client(url)
    client.request("GET", "/v2/catalog", headers={"X-Broker-API-Version": None, "X-Custom": "1"})
    (seen,) = broker.seen
    assert "X-Broker-Api-Version" not in seen.headers
    assert seen.headers["X-Custom"] == "1"


def test_last_operation_echoes_the_operation_percent_encoded(scripted: tuple[ScriptedBroker, str]) -> None:
    broker, url = scripted
    broker.on("GET", "binding_lo", (200, {"state": "succeeded"}))
    client = make_client(url)
    instance_id, binding_id = ids()
    answer = client.last_operation(
        instance_id, binding_id, "op 1/&=x", service_id=SERVICE_ID, plan_id=PLAN_ID
    )
    assert "operation=op+1%2F%26%3Dx" in answer.url or "operation=op%201%2F%26%3Dx" in answer.url
    (seen,) = broker.seen
    assert seen.args == {"operation": "op 1/&=x", "service_id": SERVICE_ID, "plan_id": PLAN_ID}


# -------------------------------------------------------------------- the flows


def test_async_provision_polls_at_once_then_honours_retry_after_within_the_cap(
    scripted: tuple[ScriptedBroker, str],
) -> None:
    broker, url = scripted
    broker.on("PUT", "instance", (202, {"operation": "op-1"}))
    broker.on(
        "GET",
        "instance_lo",
        (200, {"state": "in progress"}, {"Retry-After": "1"}),
        (200, {"state": "in progress"}, {"Retry-After": "60"}),
        (200, {"state": "in progress"}, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),
        (200, {"state": "succeeded"}),
    )
    time = FakeTime()
    client = make_client(url, time)
    instance_id, _ = ids()

    result = client.provision_and_wait(instance_id, SERVICE_ID, PLAN_ID)

    assert result.state == "succeeded" and result.polls == 4 and result.operation == "op-1"
    # 1 s as asked; 60 s capped at 2 s; an HTTP date falls back to the interval.
    assert time.waits == [1.0, 2.0, 0.5]
    kinds = [(s.method, s.path.rsplit("/", 1)[-1]) for s in broker.seen if s.path != "/v2/catalog"]
    assert kinds[0] == ("PUT", instance_id) and kinds[1] == ("GET", "last_operation")
    polls = broker.requests("GET", "instance_lo")
    assert all(p.args["operation"] == "op-1" and p.args["plan_id"] == PLAN_ID for p in polls)
    assert not broker.requests("DELETE")


def test_sync_provision_returns_at_once(scripted: tuple[ScriptedBroker, str]) -> None:
    broker, url = scripted
    broker.on("PUT", "instance", (201, {"dashboard_url": "http://dash"}))
    result = make_client(url).provision_and_wait(*ids()[:1], SERVICE_ID, PLAN_ID)
    assert result.polls == 0 and result.body == {"dashboard_url": "http://dash"}


def test_provision_5xx_is_orphan_mitigated_without_a_user_identity(
    scripted: tuple[ScriptedBroker, str],
) -> None:
    broker, url = scripted
    broker.on("PUT", "instance", (500, {"description": "boom"}))
    broker.on("DELETE", "instance", (202, {"operation": "del"}))
    broker.on("GET", "instance_lo", (200, {"state": "in progress"}), (410, {}))
    instance_id, _ = ids()

    with pytest.raises(BadBrokerResponse) as caught:
        make_client(url).provision_and_wait(instance_id, SERVICE_ID, PLAN_ID)

    assert [a.status for a in caught.value.orphan_mitigation] == [202]
    (delete,) = broker.requests("DELETE", "instance")
    assert delete.args == {"service_id": SERVICE_ID, "plan_id": PLAN_ID, "accepts_incomplete": "true"}
    assert "X-Broker-Api-Originating-Identity" not in delete.headers
    assert [p.args["operation"] for p in broker.requests("GET", "instance_lo")] == ["del", "del"]


def test_orphan_mitigation_retries_a_bounded_number_of_times(scripted: tuple[ScriptedBroker, str]) -> None:
    broker, url = scripted
    broker.on("PUT", "instance", (502, "<html>bad gateway</html>"))
    broker.on("DELETE", "instance", (500, {}))
    with pytest.raises(BadBrokerResponse) as caught:
        make_client(url).provision_and_wait(ids()[0], SERVICE_ID, PLAN_ID)
    assert len(caught.value.orphan_mitigation) == 3
    assert len(broker.requests("DELETE", "instance")) == 3


@pytest.mark.parametrize(
    "answer",
    [
        (201, "not json"),
        (202, ["a list"]),
        (202, {"operation": 7}),
        (204, {}),
        (422, {"description": "no code"}),
    ],
    ids=["201-not-json", "202-not-object", "202-operation-not-string", "other-2xx", "bare-422"],
)
def test_bad_provision_answers_are_orphan_mitigated(
    scripted: tuple[ScriptedBroker, str], answer: tuple[int, object]
) -> None:
    broker, url = scripted
    broker.on("PUT", "instance", answer)
    broker.on("DELETE", "instance", (410, {}))
    with pytest.raises(BadBrokerResponse) as caught:
        make_client(url).provision_and_wait(ids()[0], SERVICE_ID, PLAN_ID)
    assert [a.status for a in caught.value.orphan_mitigation] == [410]


@pytest.mark.parametrize(
    "answer",
    [
        (400, {"description": "bad size"}),
        (409, {}),
        (422, {"error": "ConcurrencyError", "description": "busy"}),
        (422, {"error": "AsyncRequired", "description": "async"}),
        (408, {}),
    ],
    ids=["400", "409", "422-concurrency", "422-async-required", "408"],
)
def test_rejections_are_not_orphan_mitigated(
    scripted: tuple[ScriptedBroker, str], answer: tuple[int, object]
) -> None:
    broker, url = scripted
    broker.on("PUT", "instance", answer)
    with pytest.raises(BrokerRejected) as caught:
        make_client(url).provision_and_wait(ids()[0], SERVICE_ID, PLAN_ID)
    assert caught.value.response is not None and caught.value.response.status == answer[0]
    assert not broker.requests("DELETE")


def test_provision_timeout_is_orphan_mitigated(scripted: tuple[ScriptedBroker, str]) -> None:
    broker, url = scripted
    release = threading.Event()

    def slow(seen: Seen) -> Response:
        release.wait(10)
        return Response("{}", status=201, content_type="application/json")

    broker.on("PUT", "instance", slow)
    broker.on("DELETE", "instance", (200, {}))
    client = make_client(url, timeout=0.3)
    try:
        with pytest.raises(BadBrokerResponse, match="no answer") as caught:
            client.provision_and_wait(ids()[0], SERVICE_ID, PLAN_ID)
    finally:
        release.set()
    assert [a.status for a in caught.value.orphan_mitigation] == [200]


def test_async_failure_is_reported_and_not_orphan_mitigated(scripted: tuple[ScriptedBroker, str]) -> None:
    broker, url = scripted
    broker.on("PUT", "instance", (202, {}))
    broker.on("GET", "instance_lo", (200, {"state": "failed", "description": "no capacity"}))
    with pytest.raises(AsyncOperationFailed, match="no capacity") as caught:
        make_client(url).provision_and_wait(ids()[0], SERVICE_ID, PLAN_ID)
    assert caught.value.result.state == "failed"
    assert "operation" not in broker.requests("GET", "instance_lo")[0].args
    assert not broker.requests("DELETE")


def test_polling_gives_up_after_the_maximum_duration_and_mitigates_the_create(
    scripted: tuple[ScriptedBroker, str],
) -> None:
    broker, url = scripted
    broker.on("PUT", "instance", (202, {"operation": "slow"}))
    broker.on("GET", "instance_lo", (200, {"state": "in progress"}, {"Retry-After": "2"}))
    broker.on("DELETE", "instance", (200, {}))
    time = FakeTime()
    with pytest.raises(PollingTimedOut) as caught:
        make_client(url, time).provision_and_wait(ids()[0], SERVICE_ID, PLAN_ID)
    # 30 s maximum at 2 s per poll: polls at t=0,2,...,30.
    assert len(broker.requests("GET", "instance_lo")) == 16
    assert [a.status for a in caught.value.orphan_mitigation] == [200]


def test_a_plans_maximum_polling_duration_shortens_the_wait(scripted: tuple[ScriptedBroker, str]) -> None:
    broker, url = scripted
    broker.on("PUT", "instance", (202, {}))
    broker.on("GET", "instance_lo", (200, {"state": "in progress"}, {"Retry-After": "1"}))
    broker.on("DELETE", "instance", (410, {}))
    with pytest.raises(PollingTimedOut):
        make_client(url).provision_and_wait(ids()[0], SERVICE_ID, SLOW_PLAN_ID)
    assert len(broker.requests("GET", "instance_lo")) == 6  # t = 0..5 s


def test_instance_410_during_create_keeps_polling(scripted: tuple[ScriptedBroker, str]) -> None:
    broker, url = scripted
    broker.on("PUT", "instance", (202, {}))
    broker.on("GET", "instance_lo", (410, {}), (200, {"state": "succeeded"}))
    assert make_client(url).provision_and_wait(ids()[0], SERVICE_ID, PLAN_ID).polls == 2


def test_deprovision_treats_410_as_gone(scripted: tuple[ScriptedBroker, str]) -> None:
    broker, url = scripted
    broker.on("DELETE", "instance", (410, {}), (202, {"operation": "d"}))
    broker.on("GET", "instance_lo", (200, {"state": "in progress"}), (410, {}))
    client = make_client(url)
    instance_id, _ = ids()
    assert client.deprovision_and_wait(instance_id, SERVICE_ID, PLAN_ID).response.status == 410
    async_delete = client.deprovision_and_wait(instance_id, SERVICE_ID, PLAN_ID)
    assert async_delete.state == "succeeded" and async_delete.polls == 2


def test_update_polls_with_the_previous_plan_and_rejects_bare_422(
    scripted: tuple[ScriptedBroker, str],
) -> None:
    broker, url = scripted
    broker.on("PATCH", "instance", (202, {"operation": "u"}), (422, {"description": "cannot shrink"}))
    broker.on("GET", "instance_lo", (200, {"state": "succeeded"}))
    client = make_client(url)
    instance_id, _ = ids()
    result = client.update_and_wait(instance_id, SERVICE_ID, plan_id=SLOW_PLAN_ID, previous_plan_id=PLAN_ID)
    assert result.state == "succeeded"
    (poll,) = broker.requests("GET", "instance_lo")
    assert poll.args["plan_id"] == PLAN_ID
    (patch,) = broker.requests("PATCH")
    assert patch.body["plan_id"] == SLOW_PLAN_ID and patch.body["context"]["instance_name"]
    with pytest.raises(BrokerRejected):
        client.update_and_wait(instance_id, SERVICE_ID, parameters={"size": 1})
    assert not broker.requests("DELETE")


def test_async_bind_polls_then_fetches_the_binding(scripted: tuple[ScriptedBroker, str]) -> None:
    broker, url = scripted
    broker.on("PUT", "binding", (202, {"operation": "b"}))
    # Binding last_operation errors count as 'in progress', as in CC.
    broker.on("GET", "binding_lo", (500, {}), (200, {"state": "in progress"}), (200, {"state": "succeeded"}))
    broker.on("GET", "binding", (200, {"credentials": {"password": SECRET}}))
    instance_id, binding_id = ids()

    result = make_client(url).bind_and_wait(instance_id, binding_id, SERVICE_ID, PLAN_ID)

    assert result.polls == 3
    assert result.credentials == {"password": SECRET}
    assert result.fetched is not None and result.fetched.status == 200


def test_async_bind_needs_bindings_retrievable(scripted: tuple[ScriptedBroker, str]) -> None:
    broker, url = scripted
    broker.on("GET", "catalog", (200, {"services": [{"id": SERVICE_ID, "plans": [{"id": PLAN_ID}]}]}))
    broker.on("PUT", "binding", (202, {}))
    broker.on("DELETE", "binding", (410, {}))
    instance_id, binding_id = ids()
    with pytest.raises(BadBrokerResponse) as caught:
        make_client(url).bind_and_wait(instance_id, binding_id, SERVICE_ID, PLAN_ID)
    assert [a.status for a in caught.value.orphan_mitigation] == [410]
    assert not broker.requests("GET", "binding_lo")


def test_bind_errors_never_carry_the_body(scripted: tuple[ScriptedBroker, str]) -> None:
    broker, url = scripted
    broker.on("PUT", "binding", (500, {"credentials": {"password": SECRET}, "description": "partial"}))
    broker.on("DELETE", "binding", (200, {}))
    instance_id, binding_id = ids()
    with pytest.raises(BadBrokerResponse) as caught:
        make_client(url).bind_and_wait(instance_id, binding_id, SERVICE_ID, PLAN_ID)
    assert SECRET not in str(caught.value)
    assert "partial" in str(caught.value)
    (unbind,) = broker.requests("DELETE", "binding")
    assert unbind.path.endswith(binding_id)


def test_unbind_flow(scripted: tuple[ScriptedBroker, str]) -> None:
    broker, url = scripted
    broker.on("DELETE", "binding", (202, {"operation": "u"}))
    broker.on("GET", "binding_lo", (200, {"state": "in progress"}), (410, {}))
    instance_id, binding_id = ids()
    result = make_client(url).unbind_and_wait(instance_id, binding_id, SERVICE_ID, PLAN_ID)
    assert result.state == "succeeded" and result.polls == 2
