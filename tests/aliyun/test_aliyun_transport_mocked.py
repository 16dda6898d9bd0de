"""SdkAliyunClient through the real SDK, with requests-mock mounted on the SDK's own session.

The vendored ``requests`` of the V1 SDK is not intercepted by ``requests_mock.Mocker()``;
an ``Adapter`` mounted on ``client.session`` is (reference §1.7). Sleep, clock and random
are fakes: nothing here waits.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Callable
from urllib.parse import quote

import pytest
from aliyun_fakes import ACCESS_KEY_SECRET, PASSWORD, MockedClient
from aliyunsdkcore.vendored.requests import exceptions as sdk_requests_errors

from openbroker_aliyun.aliyun.errors import ErrorCategory, classify, describe_for_user
from openbroker_aliyun.aliyun.port import AliyunError
from openbroker_aliyun.aliyun.retry import RetryPolicy

Build = Callable[..., MockedClient]


def error(status: int, code: str, message: str = "detail", request_id: str = "req") -> dict[str, Any]:
    return {"status_code": status, "json": {"RequestId": request_id, "Code": code, "Message": message}}


def ok(**body: Any) -> dict[str, Any]:
    return {"status_code": 200, "json": {"RequestId": "req-ok", **body}}


def test_throttled_twice_then_success_takes_three_attempts(mocked: Build) -> None:
    m = mocked()
    m.script(
        error(400, "Throttling", request_id="r1"), error(400, "Throttling.User", request_id="r2"), ok(X=1)
    )
    result = m.client.call("rds", "DescribeDBInstanceAttribute", {"DBInstanceId": "rm-1"}, idempotent=True)
    assert result == {"RequestId": "req-ok", "X": 1}
    assert len(m.requests) == 3
    assert m.recorder.outcomes == [("Throttling", 1), ("Throttling.User", 2), ("OK", 3)]
    assert all(call[:2] == ("rds", "DescribeDBInstanceAttribute") for call in m.recorder.calls)
    # random() = 0.5 under ceilings 0.5 and 1.0
    assert m.time.sleeps == [0.25, 0.5]


def test_503_on_a_non_idempotent_call_is_one_attempt_and_an_error(mocked: Build) -> None:
    m = mocked()
    m.script(error(503, "ServiceUnavailable", request_id="r503"), ok())
    with pytest.raises(AliyunError) as caught:
        m.client.call("rds", "CreateAccount", {"DBInstanceId": "rm-1", "AccountName": "u"})
    assert len(m.requests) == 1
    assert m.time.sleeps == []
    err = caught.value
    assert (err.code, err.http_status, err.request_id, err.retryable) == (
        "ServiceUnavailable",
        503,
        "r503",
        True,
    )
    assert classify(err) is ErrorCategory.TRANSIENT


def test_invalid_parameter_is_never_retried(mocked: Build) -> None:
    m = mocked()
    m.script(error(400, "InvalidParameter", "DBInstanceStorage is invalid"), ok())
    with pytest.raises(AliyunError) as caught:
        m.client.call("rds", "DescribeDBInstances", {"RegionId": "cn-hangzhou"}, idempotent=True)
    assert len(m.requests) == 1
    assert caught.value.retryable is False
    assert caught.value.message == "DBInstanceStorage is invalid"
    assert classify(caught.value) is ErrorCategory.INVALID


def test_non_json_502_is_retried_until_attempts_run_out(mocked: Build) -> None:
    m = mocked(retry=RetryPolicy(max_attempts=4, base_s=0.5, cap_s=8, deadline_s=60))
    m.script({"status_code": 502, "text": "<html><body>502 Bad Gateway</body></html>"})
    with pytest.raises(AliyunError) as caught:
        m.client.call("r-kvstore", "DescribeInstanceAttribute", {"InstanceId": "r-1"}, idempotent=True)
    assert len(m.requests) == 4
    assert len(m.time.sleeps) == 3
    err = caught.value
    assert (err.code, err.http_status, err.request_id, err.retryable) == (
        "SDK.UnknownServerError",
        502,
        None,
        True,
    )
    assert "502 Bad Gateway" in err.message


def test_transport_error_is_sdk_http_error_retried_and_scrubbed(mocked: Build) -> None:
    m = mocked()
    url_with_secret = f"/?AccountPassword={quote(PASSWORD, safe='')}&AccessKeyId=x"
    m.script(
        {"exc": sdk_requests_errors.ConnectionError(f"Max retries exceeded with url: {url_with_secret}")},
        {"exc": sdk_requests_errors.ConnectTimeout("connect timed out")},
        ok(Done=True),
    )
    params = {"DBInstanceId": "rm-1", "AccountName": "u", "AccountPassword": PASSWORD}
    assert m.client.call("rds", "ResetAccountPassword", params, idempotent=True)["Done"] is True
    assert m.recorder.outcomes == [("SDK.HttpError", 1), ("SDK.HttpError", 2), ("OK", 3)]


def test_transport_error_message_carries_no_secret(mocked: Build) -> None:
    m = mocked()
    encoded = quote(PASSWORD, safe="")
    m.script(
        {"exc": sdk_requests_errors.ConnectionError(f"with url: /?AccountPassword={encoded}&X=1 (refused)")}
    )
    with pytest.raises(AliyunError) as caught:
        m.client.call("rds", "CreateAccount", {"AccountPassword": PASSWORD})
    err = caught.value
    assert err.code == "SDK.HttpError"
    assert err.retryable is True
    assert err.http_status is None
    assert PASSWORD not in str(err)
    assert encoded not in str(err)
    assert "refused" in err.message
    # Not chained: the SDK's exception text is the one that held the URL.
    assert err.__cause__ is None
    assert err.__context__ is None


def test_retry_deadline_stops_before_max_attempts(mocked: Build) -> None:
    policy = RetryPolicy(max_attempts=10, base_s=1.0, cap_s=8.0, deadline_s=3.0)
    m = mocked(retry=policy, random=lambda: 0.999)
    m.script(error(500, "InternalError"))
    with pytest.raises(AliyunError):
        m.client.call("rds", "DescribeDBInstances", {}, idempotent=True)
    # sleeps ~1.0 and ~2.0 fit in 3 s; the next (~4.0) would not.
    assert m.time.sleeps == pytest.approx([0.999, 1.998])
    assert len(m.requests) == 3


def test_backoff_values_follow_the_injected_random_within_bounds(mocked: Build) -> None:
    values = iter([0.0, 0.5, 0.999, 0.25])
    policy = RetryPolicy(max_attempts=5, base_s=0.5, cap_s=1.5, deadline_s=100)
    m = mocked(retry=policy, random=lambda: next(values))
    m.script(error(400, "Throttling.Api"))
    with pytest.raises(AliyunError):
        m.client.call("rds", "DescribeDBInstances", {}, idempotent=True)
    assert m.time.sleeps == pytest.approx([0.0, 0.5, 1.4985, 0.375])
    ceilings = [0.5, 1.0, 1.5, 1.5]
    assert all(0 <= s <= c for s, c in zip(m.time.sleeps, ceilings, strict=True))
    assert len(m.requests) == 5


def test_success_body_is_parsed_and_a_200_with_code_is_a_success(mocked: Build) -> None:
    m = mocked()
    m.script({"status_code": 200, "content": json.dumps({"Code": "Throttling", "RequestId": "x"}).encode()})
    assert m.client.call("rds", "DescribeDBInstances", {}) == {"Code": "Throttling", "RequestId": "x"}


@pytest.mark.parametrize("body", [b"<html>ok</html>", b"[1, 2]", b"\xff\xfe"])
def test_2xx_that_is_not_a_json_object_is_an_error(mocked: Build, body: bytes) -> None:
    m = mocked()
    m.script({"status_code": 200, "content": body})
    with pytest.raises(AliyunError) as caught:
        m.client.call("rds", "DescribeDBInstances", {}, idempotent=True)
    assert caught.value.code == "SDK.InvalidResponseBody"
    assert len(m.requests) == 1


def test_https_is_forced_for_real_endpoints(mocked: Build) -> None:
    m = mocked(region_id="eu-central-1")
    m.script(ok())
    m.client.call("rds", "DescribeDBInstances", {})
    m.client.call("r-kvstore", "DescribeInstances", {})
    urls = [request.url for request in m.requests]
    assert urls[0].startswith("https://rds.eu-central-1.aliyuncs.com/?")
    assert urls[1].startswith("https://r-kvstore.eu-central-1.aliyuncs.com/?")


def test_endpoint_override_without_scheme_is_https(mocked: Build) -> None:
    m = mocked(rds_endpoint="rds-vpc.cn-hangzhou.aliyuncs.com")
    m.script(ok())
    m.client.call("rds", "DescribeDBInstances", {})
    m.client.call("r-kvstore", "DescribeInstances", {})
    assert m.requests[0].url.startswith("https://rds-vpc.cn-hangzhou.aliyuncs.com/?")
    assert m.requests[1].url.startswith("https://r-kvstore.aliyuncs.com/?")


def test_plain_http_is_kept_for_a_loopback_emulator(mocked: Build) -> None:
    m = mocked(endpoint="http://127.0.0.1:18080")
    m.script(ok())
    m.client.call("r-kvstore", "DescribeInstances", {})
    assert m.requests[0].url.startswith("http://127.0.0.1:18080/?")


def test_parameters_on_the_wire(mocked: Build) -> None:
    m = mocked()
    m.script(ok())
    m.client.call(
        "rds",
        "CreateDBInstance",
        {
            "Engine": "PostgreSQL",
            "DBInstanceStorage": 20,
            "DeletionProtection": True,
            "DryRun": False,
            "ZoneId": None,
            "Tag": [{"Key": "osb-instance-id", "Value": "9f3c a*b~"}, {"Key": "plan", "Value": "small"}],
            "ResourceId": ["rm-a", "rm-b"],
            "ServerlessConfig": {"MaxCapacity": 8, "AutoPause": False},
            "DBInstanceDescription": "osb ünïcode",
        },
    )
    request = m.requests[0]
    assert request.method == "POST"
    assert request.body in (None, b"", "")
    query = m.query()
    expected = {
        "Engine": "PostgreSQL",
        "DBInstanceStorage": "20",
        "DeletionProtection": "True",
        "DryRun": "False",
        "Tag.1.Key": "osb-instance-id",
        "Tag.1.Value": "9f3c a*b~",
        "Tag.2.Key": "plan",
        "Tag.2.Value": "small",
        "ResourceId.1": "rm-a",
        "ResourceId.2": "rm-b",
        "ServerlessConfig": '{"MaxCapacity": 8, "AutoPause": false}',
        "DBInstanceDescription": "osb ünïcode",
        "Action": "CreateDBInstance",
        "Version": "2014-08-15",
        "Format": "JSON",
        "RegionId": "cn-hangzhou",
        "SignatureType": "",
    }
    assert {name: query.get(name) for name in expected} == expected
    assert "ZoneId" not in query
    assert request.headers["x-acs-action"] == "CreateDBInstance"
    assert request.headers["x-acs-version"] == "2014-08-15"


def test_region_given_by_the_caller_wins(mocked: Build) -> None:
    m = mocked(region_id="cn-hangzhou")
    m.script(ok())
    m.client.call("r-kvstore", "DescribeZones", {"RegionId": "cn-shanghai"})
    assert m.query()["RegionId"] == "cn-shanghai"
    assert m.query()["Version"] == "2015-01-01"


def test_error_body_echoing_a_password_is_scrubbed_everywhere(
    mocked: Build, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    m = mocked()
    echoed = f"AccountPassword '{PASSWORD}' does not meet the rules ({json.dumps(PASSWORD)})"
    m.script(error(400, "InvalidParameter", echoed, request_id="r-echo"))
    params = {"DBInstanceId": "rm-1", "AccountName": "app", "AccountPassword": PASSWORD}
    with pytest.raises(AliyunError) as caught:
        m.client.call("rds", "CreateAccount", params)
    err = caught.value
    assert "does not meet the rules" in err.message
    for text in (str(err), err.message, describe_for_user(err)):
        assert PASSWORD not in text
        assert json.dumps(PASSWORD)[1:-1] not in text
        assert ACCESS_KEY_SECRET not in text
    ours = [r for r in caplog.records if not r.name.startswith("requests_mock")]
    assert any("CreateAccount" in r.getMessage() and "InvalidParameter" in r.getMessage() for r in ours)
    for record in ours:
        assert PASSWORD not in record.getMessage()
        assert quote(PASSWORD, safe="") not in record.getMessage()


def test_a_failing_on_call_hook_does_not_fail_the_call(
    mocked: Build, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("metrics backend down")

    m = mocked(on_call=broken)
    m.script(ok(Fine=True))
    assert m.client.call("rds", "DescribeDBInstances", {})["Fine"] is True
    assert any("on_call" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("product", "action", "params", "exception"),
    [
        ("ecs", "DescribeInstances", {}, ValueError),
        ("rds", "", {}, ValueError),
        ("rds", "Describe&Inject", {}, ValueError),
        ("rds", "DescribeDBInstances", {"Action": "DeleteDBInstance"}, ValueError),
        ("rds", "DescribeDBInstances", {"Signature": "x"}, ValueError),
        ("rds", "DescribeDBInstances", {"When": object()}, TypeError),
    ],
)
def test_malformed_calls_are_refused_before_anything_is_sent(
    mocked: Build, product: Any, action: str, params: dict[str, Any], exception: type[Exception]
) -> None:
    m = mocked()
    m.script(ok())
    with pytest.raises(exception):
        m.client.call(product, action, params)
    assert m.requests == []


def test_sdk_records_outside_our_calls_are_left_alone(
    mocked: Build, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    m = mocked()
    m.script(ok())
    m.client.call("rds", "DescribeDBInstances", {"AccountPassword": PASSWORD})
    inside = [r for r in caplog.records if r.name.startswith("aliyunsdkcore")]
    logging.getLogger("aliyunsdkcore.client").warning("another user of the SDK")
    outside = [r for r in caplog.records if r.name.startswith("aliyunsdkcore")]
    assert inside == []
    assert [r.getMessage() for r in outside] == ["another user of the SDK"]
