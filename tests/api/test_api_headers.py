"""The header middleware over real HTTP: Basic auth, API version, identities (OSB G1-G4)."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest
from api_support import (
    NEXT_PASSWORD,
    NEXT_USER,
    PASSWORD,
    USER,
    Running,
    identity_header,
    provision_body,
    uid,
)
from http_brokers import SERVICE_ID, SMALL_PLAN

from openbroker_aliyun.api.auth import CredentialChecker, check_authorization
from openbroker_aliyun.api.request_state import RequestState
from openbroker_aliyun.config import Credential
from openbroker_aliyun.errors import Unauthorized

# ------------------------------------------------------------------------- auth (G4)


@pytest.mark.parametrize(
    "auth",
    [None, (USER, "wrong"), ("nobody", PASSWORD), (USER, NEXT_PASSWORD), (NEXT_USER, PASSWORD), ("", "")],
    ids=["none", "wrong-password", "wrong-user", "crossed-pairs-1", "crossed-pairs-2", "empty"],
)
def test_bad_credentials_get_401_with_challenge(sync_api: Running, auth: tuple[str, str] | None) -> None:
    response = sync_api.api.get("/v2/catalog", auth=auth)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["description"]
    # Neither the expected nor the given password is echoed.
    assert PASSWORD not in response.text and NEXT_PASSWORD not in response.text


def test_both_rotation_pairs_are_accepted(sync_api: Running) -> None:
    assert sync_api.api.get("/v2/catalog", auth=(USER, PASSWORD)).status_code == 200
    assert sync_api.api.get("/v2/catalog", auth=(NEXT_USER, NEXT_PASSWORD)).status_code == 200


@pytest.mark.parametrize(
    "header",
    ["Bearer abc", "Basic !!!not-base64", "Basic " + base64.b64encode(b"no-colon").decode(), "Digest x"],
)
def test_malformed_authorization_is_401(sync_api: Running, header: str) -> None:
    response = sync_api.api.get("/v2/catalog", auth=None, headers={"Authorization": header})
    assert response.status_code == 401
    assert "description" in response.json()


def test_auth_comes_before_version_and_routing(sync_api: Running) -> None:
    # Unauthenticated callers learn nothing: not the version rule, not which routes exist.
    assert sync_api.api.get("/v2/catalog", auth=None, version=None).status_code == 401
    assert sync_api.api.get("/v2/no-such-route", auth=None).status_code == 401
    assert sync_api.api.put("/v2/service_instances/x", auth=None, data="not json").status_code == 401


def test_every_osb_route_requires_auth(sync_api: Running) -> None:
    base = "/v2/service_instances/i1"
    for method, path in [
        ("GET", "/v2/catalog"),
        ("PUT", base),
        ("GET", base),
        ("PATCH", base),
        ("DELETE", base),
        ("GET", base + "/last_operation"),
        ("PUT", base + "/service_bindings/b1"),
        ("GET", base + "/service_bindings/b1"),
        ("DELETE", base + "/service_bindings/b1"),
        ("GET", base + "/service_bindings/b1/last_operation"),
    ]:
        response = sync_api.api.request(method, path, auth=None, json={})
        assert response.status_code == 401, (method, path)


def test_health_needs_no_auth_and_no_version(sync_api: Running) -> None:
    live = sync_api.api.get("/health/live", auth=None, version=None)
    ready = sync_api.api.get("/health/ready", auth=None, version=None)
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    assert ready.status_code == 200 and ready.json() == {"status": "ok"}


def test_credential_checker_compares_every_pair() -> None:
    check = CredentialChecker([Credential("a", "1"), Credential("b", "2")])
    assert check("a", "1") and check("b", "2")
    assert not check("a", "2") and not check("b", "1") and not check("a", "") and not check("", "")
    with pytest.raises(ValueError):
        CredentialChecker([])


def test_the_usual_authorization_header_is_checked_without_parsing() -> None:
    check = CredentialChecker([Credential("a", "1"), Credential("b", "2")])
    usual = "Basic " + base64.b64encode(b"b:2").decode()
    assert check.accepts_header(usual)
    assert not check.accepts_header(usual.lower()) and not check.accepts_header(usual + " ")
    assert not check.accepts_header("Basic " + base64.b64encode(b"a:2").decode())
    check_authorization(usual, check)
    # Other spellings of the same credentials go through werkzeug's parser and still pass.
    check_authorization("basic " + base64.b64encode(b"a:1").decode(), check)
    for refused in (None, "", "Basic " + base64.b64encode(b"a:2").decode(), "Bearer x"):
        with pytest.raises(Unauthorized):
            check_authorization(refused, check)


# ---------------------------------------------------------------------- version (G1)


@pytest.mark.parametrize("version", ["2.13", "2.14", "2.15", "2.16", "2.17"])
def test_supported_versions_are_accepted(sync_api: Running, version: str) -> None:
    assert sync_api.api.get("/v2/catalog", version=version).status_code == 200


@pytest.mark.parametrize("version", [None, "", "2.12", "2.18", "3.0", "1.17", "two", "2.17.1", "2", "2.x"])
def test_missing_malformed_or_unsupported_version_is_412(sync_api: Running, version: str | None) -> None:
    headers = {"X-Broker-API-Version": version} if version is not None else None
    response = sync_api.api.get("/v2/catalog", version=None, headers=headers)
    assert response.status_code == 412
    assert "2.13-2.17" in response.json()["description"]


def test_version_is_checked_before_the_body(sync_api: Running) -> None:
    response = sync_api.api.put("/v2/service_instances/i1", version="2.12", data="not json")
    assert response.status_code == 412


# ------------------------------------------------------------ originating identity (G2)


def test_cloud_foundry_identity_reaches_the_broker_step(sync_api: Running) -> None:
    header = identity_header("cloudfoundry", {"user_id": "683ea748-3092-4ff4-b656-39cacc4d5360"})
    iid = uid("cf-identity")
    response = sync_api.api.provision(iid, headers={"X-Broker-API-Originating-Identity": header})
    assert response.status_code == 201
    (op,) = sync_api.broker.steps("provision", iid)
    identity = op.info.originating_identity
    assert identity is not None
    assert identity.platform == "cloudfoundry"
    assert identity.user == "683ea748-3092-4ff4-b656-39cacc4d5360"


def test_kubernetes_identity_reaches_the_broker_step(sync_api: Running) -> None:
    value = {
        "username": "duke",
        "uid": "c2dde242-5ce4",
        "groups": ["admin", "dev"],
        "extra": {"mydata": ["x"]},
    }
    header = identity_header("kubernetes", value)
    iid = uid("k8s-identity")
    response = sync_api.api.provision(iid, headers={"X-Broker-API-Originating-Identity": header})
    assert response.status_code == 201
    (op,) = sync_api.broker.steps("provision", iid)
    identity = op.info.originating_identity
    assert identity is not None
    assert identity.platform == "kubernetes"
    assert identity.user == "duke"
    assert dict(identity.value) == value


def test_absent_identity_is_fine(sync_api: Running) -> None:
    iid = uid("no-identity")
    assert sync_api.api.provision(iid).status_code == 201
    (op,) = sync_api.broker.steps("provision", iid)
    assert op.info.originating_identity is None


@pytest.mark.parametrize(
    "header",
    [
        "cloudfoundry",
        "cloudfoundry not-base64!!",
        "cloudfoundry " + base64.b64encode(b"not json").decode(),
        "cloudfoundry " + base64.b64encode(b'["a list"]').decode(),
        "",
    ],
    ids=["no-value", "not-base64", "not-json", "not-object", "empty"],
)
def test_malformed_identity_is_400_and_changes_nothing(sync_api: Running, header: str) -> None:
    iid = uid("bad-identity")
    response = sync_api.api.provision(iid, headers={"X-Broker-API-Originating-Identity": header})
    assert response.status_code == 400
    assert "Originating-Identity" in response.json()["description"]
    assert sync_api.broker.calls_for(iid) == []
    assert sync_api.api.get(f"/v2/service_instances/{iid}").status_code == 404


# -------------------------------------------------------------- request identity (G3)


def test_request_identity_is_echoed_on_success_and_error(sync_api: Running) -> None:
    rid = "e26cea6c-6a1b-4f8c-8b61-6c2d0f0c7d0b"
    ok = sync_api.api.get("/v2/catalog", headers={"X-Broker-API-Request-Identity": rid})
    assert ok.headers["X-Broker-API-Request-Identity"] == rid
    refused = sync_api.api.get("/v2/catalog", auth=None, headers={"X-Broker-API-Request-Identity": rid})
    assert refused.status_code == 401
    assert refused.headers["X-Broker-API-Request-Identity"] == rid
    missing = sync_api.api.deprovision(uid("never-made"), headers={"X-Broker-API-Request-Identity": rid})
    assert missing.status_code == 410
    assert missing.headers["X-Broker-API-Request-Identity"] == rid


def test_request_identity_reaches_the_broker_step(sync_api: Running) -> None:
    iid = uid("rid")
    response = sync_api.api.provision(iid, headers={"X-Broker-API-Request-Identity": "rid-42"})
    assert response.status_code == 201
    (op,) = sync_api.broker.steps("provision", iid)
    assert op.info.request_identity == "rid-42"
    assert op.info.api_version == "2.17"


def test_no_request_identity_no_echo(sync_api: Running) -> None:
    response = sync_api.api.get("/v2/catalog")
    assert "X-Broker-API-Request-Identity" not in response.headers


def test_api_version_reaches_the_broker_step(sync_api: Running) -> None:
    body = provision_body(service_id=SERVICE_ID, plan_id=SMALL_PLAN)
    iid = uid("v215")
    assert sync_api.api.provision(iid, body, version="2.15").status_code == 201
    (op,) = sync_api.broker.steps("provision", iid)
    assert op.info.api_version == "2.15"


def _state(environ: dict[str, Any]) -> RequestState:
    return RequestState(environ, "GET", "/v2/catalog", "/v2/catalog")


def test_generated_request_ids_are_uuid4_hex() -> None:
    ids = {_state({}).request_id for _ in range(2000)}
    assert len(ids) == 2000
    for found in ids:
        parsed = uuid.UUID(found)
        assert parsed.hex == found and parsed.version == 4 and parsed.variant == uuid.RFC_4122


def test_a_request_id_is_made_once_and_is_the_platforms_when_it_sends_one() -> None:
    state = _state({})
    assert state.request_id == state.request_id  # made at the first read, then kept
    assert _state({"HTTP_X_BROKER_API_REQUEST_IDENTITY": "rid-7"}).request_id == "rid-7"


@pytest.mark.parametrize("header", ["2.13", "2.17", " 2.17", "2.17 ", "02.17"])
def test_version_header_spellings(header: str) -> None:
    from openbroker_aliyun.api.version import api_version

    assert api_version(header) == header.strip()
