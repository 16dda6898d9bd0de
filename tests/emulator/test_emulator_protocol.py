"""The wire protocol: signatures (V1 through the real SDK, V3 signed here), errors, timestamps, nonces."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pytest
import requests
from aliyunsdkcore.request import CommonRequest
from emulator_sdk import AK, MYSQL_INSTANCE, SECRET, Sdk, rds

from openbroker_aliyun.emulator import EmulatorConfig, EmulatorServer
from openbroker_aliyun.emulator.rds import RdsActions


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # the proxy trap: never send loopback calls to an HTTP_PROXY
    return session


def _pct(value: str) -> str:
    return quote(value, safe="-_.~")


def _timestamp(offset: timedelta = timedelta()) -> str:
    return (datetime.now(UTC) + offset).strftime("%Y-%m-%dT%H:%M:%SZ")


def v1_signed(
    action: str,
    params: dict[str, str],
    *,
    version: str = "2014-08-15",
    method: str = "POST",
    secret: str = SECRET,
    timestamp: str | None = None,
    nonce: str | None = None,
    body: dict[str, str] | None = None,
) -> dict[str, str]:
    """Query parameters signed as the V1 SDK signs them (RPC HMAC-SHA1), written independently."""
    query = {
        "Action": action,
        "Version": version,
        "Format": "JSON",
        "AccessKeyId": AK,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureType": "",
        "SignatureNonce": nonce or uuid.uuid4().hex,
        "Timestamp": timestamp or _timestamp(),
        "RegionId": "cn-hangzhou",
        **params,
    }
    signed = {**query, **(body or {})}
    canonical = "&".join(f"{_pct(k)}={_pct(v)}" for k, v in sorted(signed.items()))
    string_to_sign = f"{method}&%2F&{_pct(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    query["Signature"] = base64.b64encode(digest).decode()
    return query


def v3_request(
    url: str,
    action: str,
    version: str,
    query: dict[str, str],
    *,
    access_key_id: str = AK,
    secret: str = SECRET,
    body: bytes = b"",
) -> requests.Response:
    """A request signed with ACS3-HMAC-SHA256 as the V2 SDK does (reference §2.2)."""
    host = urlsplit(url).netloc
    headers = {
        "host": host,
        "accept": "application/json",
        "x-acs-action": action,
        "x-acs-version": version,
        "x-acs-date": _timestamp(),
        "x-acs-signature-nonce": uuid.uuid4().hex,
        "x-acs-content-sha256": hashlib.sha256(body).hexdigest(),
    }
    signed_headers = ";".join(sorted(headers))
    canonical_query = "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in sorted(query.items()))
    canonical_headers = "".join(f"{name}:{headers[name].strip()}\n" for name in sorted(headers))
    canonical_request = "\n".join(
        ["POST", "/", canonical_query, canonical_headers, signed_headers, hashlib.sha256(body).hexdigest()]
    )
    string_to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical_request.encode()).hexdigest()
    signature = hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"ACS3-HMAC-SHA256 Credential={access_key_id},SignedHeaders={signed_headers},Signature={signature}"
    )
    with _session() as session:
        return session.post(
            f"{url}/?{urlencode(query, quote_via=quote)}", data=body, headers=headers, timeout=10
        )


def _create_mysql(sdk: Sdk, **extra: Any) -> str:
    return str(sdk.call(rds("CreateDBInstance", **{**MYSQL_INSTANCE, **extra}))["DBInstanceId"])


def test_sdk_call_succeeds_with_json_and_request_id(emulator: EmulatorServer, sdk: Sdk) -> None:
    body = sdk.call(rds("CreateDBInstance", **MYSQL_INSTANCE))
    assert body["DBInstanceId"].startswith("rm-")
    assert body["Port"] == "3306"  # RDS ports are strings on the wire
    assert len(body["RequestId"]) == 36

    with _session() as session:
        raw = session.post(emulator.url, params=v1_signed("DescribeDBInstances", {}), timeout=10)
    assert raw.status_code == 200
    assert raw.headers["Content-Type"] == "application/json;charset=utf-8"
    assert raw.json()["TotalRecordCount"] == 1


def test_wrong_secret_gives_string_to_sign_and_the_sdk_rewrite(emulator: EmulatorServer) -> None:
    error = Sdk(emulator.url, secret="not-the-secret").error(rds("DescribeDBInstances"))
    # The V1 SDK compares the server's string-to-sign with its own and rewrites the error.
    assert (error.get_error_code(), error.get_http_status()) == ("InvalidAccessKeySecret", 400)

    params = v1_signed("DescribeDBInstances", {}, secret="wrong")
    with _session() as session:
        raw = session.post(emulator.url, params=params, timeout=10).json()
    assert raw["Code"] == "SignatureDoesNotMatch"
    assert raw["Message"].split(":", 1)[0].endswith("server string to sign is")
    assert raw["Message"].split(":", 1)[1].startswith("POST&%2F&AccessKeyId%3Dtestak")
    assert raw["HostId"] == "rds.aliyuncs.com" and raw["RequestId"]


def test_unknown_access_key_is_404(emulator: EmulatorServer) -> None:
    error = Sdk(emulator.url, access_key_id="nobody").error(rds("DescribeDBInstances"))
    assert (error.get_error_code(), error.get_http_status()) == ("InvalidAccessKeyId.NotFound", 404)
    assert error.get_request_id()


def test_a_second_access_key_pair_is_accepted(serve: Any) -> None:
    server = serve(EmulatorConfig.instant(access_keys={AK: SECRET, "otherak": "othersecret"}))
    assert Sdk(server.url, "otherak", "othersecret").call(rds("DescribeDBInstances"))["TotalRecordCount"] == 0


def test_missing_parameter(sdk: Sdk) -> None:
    error = sdk.error(rds("DescribeDBInstanceAttribute"))
    assert (error.get_error_code(), error.get_http_status()) == ("MissingParameter", 400)
    assert "DBInstanceId" in error.get_error_msg()


def test_unknown_action_and_version(emulator: EmulatorServer, sdk: Sdk) -> None:
    domain = urlsplit(emulator.url).netloc
    request = CommonRequest(domain=domain, version="2014-08-15", action_name="DescribeNothing", product="Rds")
    request.set_method("POST")
    error = sdk.error(request)
    assert (error.get_error_code(), error.get_http_status()) == ("InvalidAction.NotFound", 404)

    request = CommonRequest(
        domain=domain, version="2099-01-01", action_name="DescribeDBInstances", product="Rds"
    )
    error = sdk.error(request)
    assert (error.get_error_code(), error.get_http_status()) == ("InvalidVersion", 400)


def test_form_body_parameters_are_read_and_signed(emulator: EmulatorServer, sdk: Sdk) -> None:
    request = CommonRequest(
        domain=urlsplit(emulator.url).netloc,
        version="2014-08-15",
        action_name="CreateDBInstance",
        product="Rds",
    )
    request.set_method("POST")
    for name, value in MYSQL_INSTANCE.items():
        request.add_body_params(name, str(value))
    request.add_body_params("DBInstanceDescription", "made with a form body")
    instance_id = sdk.call(request)["DBInstanceId"]
    [attribute] = sdk.call(rds("DescribeDBInstanceAttribute", DBInstanceId=instance_id))["Items"][
        "DBInstanceAttribute"
    ]
    assert attribute["DBInstanceDescription"] == "made with a form body"


def test_get_is_accepted_and_other_paths_are_not(emulator: EmulatorServer) -> None:
    with _session() as session:
        ok = session.get(emulator.url, params=v1_signed("DescribeDBInstances", {}, method="GET"), timeout=10)
        missing = session.post(f"{emulator.url}/", params={"Version": "2014-08-15"}, timeout=10)
        elsewhere = session.post(f"{emulator.url}/other", timeout=10)
    assert ok.status_code == 200
    assert (missing.status_code, missing.json()["Code"]) == (400, "MissingParameter")
    assert "Action" in missing.json()["Message"]
    assert (elsewhere.status_code, elsewhere.json()["Code"]) == (404, "InvalidAction.NotFound")


def test_old_timestamps_and_reused_nonces_are_refused(emulator: EmulatorServer) -> None:
    with _session() as session:
        stale = v1_signed("DescribeDBInstances", {}, timestamp=_timestamp(timedelta(minutes=-20)))
        expired = session.post(emulator.url, params=stale, timeout=10).json()
        garbled = session.post(
            emulator.url, params=v1_signed("DescribeDBInstances", {}, timestamp="yesterday"), timeout=10
        ).json()
        params = v1_signed("DescribeDBInstances", {}, nonce="the-same-nonce")
        first = session.post(emulator.url, params=params, timeout=10)
        replay = session.post(emulator.url, params=params, timeout=10).json()
    assert expired["Code"] == "InvalidTimeStamp.Expired"
    assert garbled["Code"] == "InvalidTimeStamp.Format"
    assert first.status_code == 200
    assert replay["Code"] == "SignatureNonceUsed"


def test_v3_signed_requests_are_accepted_for_both_products(emulator: EmulatorServer, sdk: Sdk) -> None:
    created = v3_request(
        emulator.url,
        "CreateDBInstance",
        "2014-08-15",
        {
            **{k: str(v) for k, v in MYSQL_INSTANCE.items()},
            "RegionId": "cn-hangzhou",
            "DBInstanceDescription": "v3 call ~*",
        },
    )
    assert created.status_code == 200, created.text
    instance_id = created.json()["DBInstanceId"]
    [attribute] = sdk.call(rds("DescribeDBInstanceAttribute", DBInstanceId=instance_id))["Items"][
        "DBInstanceAttribute"
    ]
    assert attribute["DBInstanceDescription"] == "v3 call ~*"

    kvstore = v3_request(
        emulator.url,
        "CreateInstance",
        "2015-01-01",
        {
            "RegionId": "cn-hangzhou",
            "InstanceClass": "redis.master.small.default",
            "Tag.1.Key": "k",
            "Tag.1.Value": "v",
        },
    )
    assert kvstore.status_code == 200, kvstore.text
    assert kvstore.json()["InstanceId"].startswith("r-")


def test_v3_wrong_secret_unknown_key_and_tampered_body(emulator: EmulatorServer) -> None:
    query = {"RegionId": "cn-hangzhou"}
    wrong = v3_request(emulator.url, "DescribeDBInstances", "2014-08-15", query, secret="wrong")
    assert (wrong.status_code, wrong.json()["Code"]) == (400, "SignatureDoesNotMatch")
    assert "server string to sign is:ACS3-HMAC-SHA256\n" in wrong.json()["Message"]
    unknown = v3_request(emulator.url, "DescribeDBInstances", "2014-08-15", query, access_key_id="nobody")
    assert (unknown.status_code, unknown.json()["Code"]) == (404, "InvalidAccessKeyId.NotFound")

    ok = v3_request(emulator.url, "DescribeDBInstances", "2014-08-15", query)
    assert ok.status_code == 200
    with _session() as session:
        # Same signed headers, different body: the payload hash no longer matches.
        tampered = session.post(
            f"{emulator.url}/?RegionId=cn-hangzhou", data=b"x=1", headers=dict(ok.request.headers), timeout=10
        )
    assert tampered.json()["Code"] == "SignatureDoesNotMatch"


def test_booleans_are_read_case_insensitively(sdk: Sdk) -> None:
    for spelled, expected in (("true", True), ("TRUE", True), ("False", False), ("0", False)):
        request = rds("CreateDBInstance", **MYSQL_INSTANCE)
        request.add_query_param("DeletionProtection", spelled)
        instance_id = sdk.call(request)["DBInstanceId"]
        [attribute] = sdk.call(rds("DescribeDBInstanceAttribute", DBInstanceId=instance_id))["Items"][
            "DBInstanceAttribute"
        ]
        assert attribute["DeletionProtection"] is expected
    request = rds("CreateDBInstance", **MYSQL_INSTANCE)
    request.add_query_param("DeletionProtection", "maybe")
    assert sdk.error(request).get_error_code() == "InvalidParameter"


def test_rate_limit_answers_throttling_user(serve: Any) -> None:
    server = serve(EmulatorConfig.instant(rate_limit=0.001))  # one call, then nothing for 1000 s
    sdk = Sdk(server.url)
    sdk.call(rds("DescribeDBInstances"))
    error = sdk.error(rds("DescribeDBInstances"))
    assert (error.get_error_code(), error.get_http_status()) == ("Throttling.User", 400)
    assert server.app.calls.count("DescribeDBInstances", outcome="Throttling.User") == 1


@pytest.mark.parametrize("text", ["", "{"])
def test_admin_paths_do_not_need_signatures_but_unknown_ones_404(emulator: EmulatorServer, text: str) -> None:
    with _session() as session:
        health = session.get(f"{emulator.url}/_emulator/health", timeout=10)
        unknown = session.post(f"{emulator.url}/_emulator/nothing", data=text, timeout=10)
    assert health.json() == {"status": "ok"}
    assert unknown.status_code == 404 and "error" in unknown.json()


def test_garbage_and_emulator_bugs_get_alibaba_errors_not_tracebacks(
    serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: RdsActions, params: Any, now: float) -> dict[str, Any]:
        raise RuntimeError("a bug")

    monkeypatch.setattr(RdsActions, "describe_db_instances", broken)
    server = serve()
    error = Sdk(server.url).error(rds("DescribeDBInstances"))
    assert (error.get_error_code(), error.get_http_status()) == ("InternalError", 500)
    with _session() as session:
        garbage = session.post(
            server.url,
            data=b"\xff\xfe=\x00",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=10,
        )
    assert garbage.status_code == 400 and garbage.json()["Code"] == "MissingParameter"
