"""openbrokerapi brokers served by our engine over real HTTP, driven by the platform client.

The last tests serve the same brokers with plain openbrokerapi (its own ``get_blueprint``)
next to ours and show where plain openbrokerapi answers what the spec forbids.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

import pytest
from flask import Flask
from obapi_brokers import (
    ASYNC_OTHER_PLAN_ID,
    ASYNC_PLAN_ID,
    ASYNC_SERVICE_ID,
    SYNC_OTHER_PLAN_ID,
    SYNC_PLAN_ID,
    SYNC_SERVICE_ID,
    AsyncNotes,
    SyncNotes,
)
from openbrokerapi.api import BrokerCredentials, get_blueprint
from openbrokerapi.router import Router

from openbroker_aliyun.domain import OperationKind
from openbroker_aliyun.interop.openbrokerapi import OpenBrokerAPIAdapter
from openbroker_aliyun.testing.client import AsyncOperationFailed, OSBClient, PollingPolicy
from openbroker_aliyun.testing.servers import RunningBroker, broker_server, serve_wsgi

FAST = PollingPolicy(interval=0.01, interval_cap=0.05, max_duration=20.0)


def new_id() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def sync_notes() -> SyncNotes:
    return SyncNotes()


@pytest.fixture
def async_notes() -> AsyncNotes:
    return AsyncNotes(polls=2, fail_provision_of="doomed")


@pytest.fixture
def ours(sync_notes: SyncNotes, async_notes: AsyncNotes) -> Iterator[RunningBroker]:
    adapter = OpenBrokerAPIAdapter(sync_notes, async_notes, retry_after=0.01)
    with broker_server(adapter, polling=FAST) as served:
        yield served


# ------------------------------------------------------------------ synchronous broker


def test_sync_lifecycle_with_state_and_idempotency(ours: RunningBroker, sync_notes: SyncNotes) -> None:
    _, client = ours
    instance_id, binding_id = new_id(), new_id()

    first = client.provision(instance_id, SYNC_SERVICE_ID, SYNC_PLAN_ID, parameters={"colour": "red"})
    assert first.status == 201
    assert first.json["dashboard_url"] == f"http://notes.example/{instance_id}"
    stored = sync_notes.instances[instance_id]
    assert stored["parameters"] == {"colour": "red", "size": 1}  # defaults from their schema
    assert stored["identity"]["platform"] == "cloudfoundry"
    assert stored["identity"]["value"] == client.profile.identity()

    # Their broker would say 409 to any second PUT; the engine answers identical ones itself.
    again = client.provision(instance_id, SYNC_SERVICE_ID, SYNC_PLAN_ID, parameters={"colour": "red"})
    assert again.status == 200
    assert (
        client.provision(instance_id, SYNC_SERVICE_ID, SYNC_PLAN_ID, parameters={"colour": "green"}).status
        == 409
    )
    assert sync_notes.calls.count(f"provision {instance_id}") == 1

    fetched = client.fetch_instance(instance_id)
    assert fetched.status == 200 and fetched.json["plan_id"] == SYNC_PLAN_ID

    bound = client.bind(instance_id, binding_id, SYNC_SERVICE_ID, SYNC_PLAN_ID, parameters={"role": "writer"})
    assert bound.status == 201 and bound.json["credentials"]["role"] == "writer"
    rebound = client.bind(
        instance_id, binding_id, SYNC_SERVICE_ID, SYNC_PLAN_ID, parameters={"role": "writer"}
    )
    assert rebound.status == 200 and rebound.json["credentials"] == bound.json["credentials"]
    assert sync_notes.calls.count(f"bind {binding_id}") == 1

    assert client.unbind(instance_id, binding_id, SYNC_SERVICE_ID, SYNC_PLAN_ID).status == 200
    assert client.unbind(instance_id, binding_id, SYNC_SERVICE_ID, SYNC_PLAN_ID).status == 410
    assert binding_id not in sync_notes.bindings
    assert client.deprovision(instance_id, SYNC_SERVICE_ID, SYNC_PLAN_ID).status == 200
    assert client.deprovision(instance_id, SYNC_SERVICE_ID, SYNC_PLAN_ID).status == 410
    assert instance_id not in sync_notes.instances


def test_their_schema_is_enforced_before_their_code_runs(ours: RunningBroker, sync_notes: SyncNotes) -> None:
    _, client = ours
    instance_id = new_id()
    for bad in ({"colour": "blue"}, {"colour": "red", "size": 0}, {"colour": "red", "typo": 1}, {}):
        answer = client.provision(instance_id, SYNC_SERVICE_ID, SYNC_PLAN_ID, parameters=bad)
        assert answer.status == 400, bad
        assert answer.description and answer.description.startswith("Invalid parameters")
    assert not [call for call in sync_notes.calls if instance_id in call]


def test_their_errors_become_the_right_status_and_change_nothing(
    ours: RunningBroker, sync_notes: SyncNotes
) -> None:
    _, client = ours
    instance_id, binding_id, other_id = new_id(), new_id(), new_id()

    # ErrInvalidParameters (a rule their schema cannot express): 400 with their text.
    invalid = client.provision(
        other_id, SYNC_SERVICE_ID, SYNC_PLAN_ID, parameters={"colour": "green", "size": 6}
    )
    assert (invalid.status, invalid.description) == (400, "at most 5 green notes")
    assert client.fetch_instance(other_id).status == 404
    assert (
        client.provision(other_id, SYNC_SERVICE_ID, SYNC_PLAN_ID, parameters={"colour": "green"}).status
        == 201
    )

    # ErrPlanChangeNotSupported: 422, the plan stays.
    assert client.provision(instance_id, SYNC_SERVICE_ID, SYNC_OTHER_PLAN_ID).status == 201
    change = client.update(instance_id, SYNC_SERVICE_ID, plan_id=SYNC_PLAN_ID)
    assert change.status == 422 and "plan migration" in (change.description or "")
    assert client.fetch_instance(instance_id).json["plan_id"] == SYNC_OTHER_PLAN_ID

    # ErrAppGuidNotProvided on a service key: 422 RequiresApp, nothing bound.
    key = client.bind(instance_id, binding_id, SYNC_SERVICE_ID, SYNC_OTHER_PLAN_ID, app_guid=None)
    assert (key.status, key.error) == (422, "RequiresApp")
    assert client.fetch_binding(instance_id, binding_id).status == 404
    assert client.bind(instance_id, binding_id, SYNC_SERVICE_ID, SYNC_OTHER_PLAN_ID).status == 201


def test_their_already_exists_is_a_409_and_records_nothing(
    ours: RunningBroker, sync_notes: SyncNotes
) -> None:
    _, client = ours
    instance_id = new_id()
    sync_notes.instances[instance_id] = {"plan_id": SYNC_PLAN_ID}  # made behind the engine's back
    clash = client.provision(instance_id, SYNC_SERVICE_ID, SYNC_PLAN_ID, parameters={"colour": "red"})
    assert clash.status == 409 and "already exists" in (clash.description or "")
    assert client.fetch_instance(instance_id).status == 404


def test_organization_and_space_are_required_by_openbrokerapi(ours: RunningBroker) -> None:
    _, client = ours
    instance_id = new_id()
    body = {"service_id": SYNC_SERVICE_ID, "plan_id": SYNC_PLAN_ID, "parameters": {"colour": "red"}}
    answer = client.request("PUT", f"/v2/service_instances/{instance_id}", body=body)
    assert answer.status == 400 and "organization_guid" in (answer.description or "")
    # Korifi-style: no top-level guids, but a context that has them.
    body["context"] = client.profile.context(instance_name="x")
    assert client.request("PUT", f"/v2/service_instances/{instance_id}", body=body).status == 201


# ----------------------------------------------------------------- asynchronous broker


def test_async_lifecycle_polls_their_last_operation(ours: RunningBroker, async_notes: AsyncNotes) -> None:
    _, client = ours
    instance_id, binding_id = new_id(), new_id()

    provisioned = client.provision_and_wait(instance_id, ASYNC_SERVICE_ID, ASYNC_PLAN_ID)
    assert provisioned.response.status == 202 and provisioned.state == "succeeded"
    assert f"provision {instance_id} async=True" in async_notes.calls
    assert async_notes.calls.count(f"last_operation provision {instance_id}") == 3  # 2 in progress, then done
    assert client.provision(instance_id, ASYNC_SERVICE_ID, ASYNC_PLAN_ID).status == 200

    bound = client.bind_and_wait(instance_id, binding_id, ASYNC_SERVICE_ID, ASYNC_PLAN_ID)
    assert bound.response.status == 202 and "credentials" not in bound.response.json
    assert bound.credentials == async_notes.bindings[binding_id]
    assert f"get_binding {binding_id}" in async_notes.calls

    unbound = client.unbind_and_wait(instance_id, binding_id, ASYNC_SERVICE_ID, ASYNC_PLAN_ID)
    assert unbound.response.status == 202 and unbound.state == "succeeded"
    deleted = client.deprovision_and_wait(instance_id, ASYNC_SERVICE_ID, ASYNC_PLAN_ID)
    assert deleted.response.status == 202
    assert instance_id not in async_notes.instances
    assert client.deprovision(instance_id, ASYNC_SERVICE_ID, ASYNC_PLAN_ID).status == 410


def test_async_only_broker_without_accepts_incomplete(ours: RunningBroker, async_notes: AsyncNotes) -> None:
    _, client = ours
    instance_id = new_id()
    answer = client.provision(instance_id, ASYNC_SERVICE_ID, ASYNC_PLAN_ID, accepts_incomplete=False)
    assert (answer.status, answer.error) == (422, "AsyncRequired")
    assert client.fetch_instance(instance_id).status == 404
    assert client.provision_and_wait(instance_id, ASYNC_SERVICE_ID, ASYNC_PLAN_ID).state == "succeeded"


def test_their_failed_state_fails_the_operation(ours: RunningBroker) -> None:
    _, client = ours
    instance_id = "doomed-" + new_id()
    with pytest.raises(AsyncOperationFailed) as caught:
        client.provision_and_wait(instance_id, ASYNC_SERVICE_ID, ASYNC_PLAN_ID)
    assert caught.value.response is not None and caught.value.response.json["description"] == "out of paper"


def test_plan_of_another_service_is_refused(ours: RunningBroker, sync_notes: SyncNotes) -> None:
    _, client = ours
    answer = client.provision(new_id(), SYNC_SERVICE_ID, ASYNC_PLAN_ID, parameters={"colour": "red"})
    assert answer.status == 400
    assert not sync_notes.calls


# ------------------------------------------------ plain openbrokerapi next to ours


@pytest.fixture
def plain() -> Iterator[OSBClient]:
    """The same brokers behind openbrokerapi's own blueprint (its Router for two brokers)."""
    app = Flask("plain-openbrokerapi")
    quiet = logging.getLogger("plain-openbrokerapi")
    quiet.disabled = True
    blueprint = get_blueprint(Router(SyncNotes(), AsyncNotes()), BrokerCredentials("plain", "secret"), quiet)
    app.register_blueprint(blueprint)
    with serve_wsgi(app) as url:
        yield OSBClient(url, "plain", "secret", polling=FAST)


def test_identical_provision_twice(ours: RunningBroker, plain: OSBClient) -> None:
    _, client = ours
    seen = []
    for osb in (plain, client):
        instance_id = new_id()
        assert (
            osb.provision(instance_id, SYNC_SERVICE_ID, SYNC_PLAN_ID, parameters={"colour": "red"}).status
            == 201
        )
        seen.append(
            osb.provision(instance_id, SYNC_SERVICE_ID, SYNC_PLAN_ID, parameters={"colour": "red"}).status
        )
    # Spec A6: identical and finished -> 200. Plain openbrokerapi passes the broker's error on.
    assert seen == [409, 200]


def _ask(osb: OSBClient, case: str) -> int:
    instance_id = new_id()
    if case == "plan of another service":
        return osb.provision(instance_id, SYNC_SERVICE_ID, ASYNC_PLAN_ID, parameters={"colour": "red"}).status
    if case == "parameters against the schema":
        return osb.provision(instance_id, SYNC_SERVICE_ID, SYNC_PLAN_ID, parameters={"colour": 7}).status
    if case == "malformed version header":
        return osb.request("GET", "/v2/catalog", headers={"X-Broker-API-Version": "two"}).status
    if case == "binding last_operation of an unknown binding":
        return osb.last_operation(instance_id, new_id(), None, service_id=ASYNC_SERVICE_ID).status
    raise AssertionError(case)


@pytest.mark.parametrize(
    ("case", "plain_status", "our_status"),
    [
        # openbrokerapi checks the plan exists in *some* service; spec: 400.
        ("plan of another service", 201, 400),
        # openbrokerapi publishes schemas but checks nothing (its issue #44).
        ("parameters against the schema", 201, 400),
        # int("two") raises in its version filter: a 500 for a client mistake.
        ("malformed version header", 500, 412),
        # its Router does not route binding last_operation: 501; spec: 404.
        ("binding last_operation of an unknown binding", 501, 404),
    ],
)
def test_where_plain_openbrokerapi_gets_the_status_wrong(
    ours: RunningBroker, plain: OSBClient, case: str, plain_status: int, our_status: int
) -> None:
    _, client = ours
    assert (_ask(plain, case), _ask(client, case)) == (plain_status, our_status)


def test_update_on_a_broker_without_update_is_a_422(ours: RunningBroker) -> None:
    _, client = ours
    instance_id = new_id()
    client.provision_and_wait(instance_id, ASYNC_SERVICE_ID, ASYNC_PLAN_ID)
    answer = client.update(instance_id, ASYNC_SERVICE_ID, plan_id=ASYNC_OTHER_PLAN_ID)
    assert answer.status == 422 and "does not support updates" in (answer.description or "")


def test_async_operations_move_their_first_call_to_the_background(sync_notes: SyncNotes) -> None:
    adapter = OpenBrokerAPIAdapter(sync_notes, async_operations={OperationKind.PROVISION}, retry_after=0.01)
    with broker_server(adapter, polling=FAST) as (_, client):
        instance_id = new_id()
        result = client.provision_and_wait(
            instance_id, SYNC_SERVICE_ID, SYNC_PLAN_ID, parameters={"colour": "red"}
        )
        assert result.response.status == 202 and result.state == "succeeded"
        assert instance_id in sync_notes.instances
        # Without accepts_incomplete such an operation cannot run: 422 AsyncRequired.
        refused = client.provision(
            new_id(), SYNC_SERVICE_ID, SYNC_PLAN_ID, parameters={"colour": "red"}, accepts_incomplete=False
        )
        assert (refused.status, refused.error) == (422, "AsyncRequired")
