"""The ``aliyun_*`` metrics, fed by ``aliyun_call_observer()`` from the real Alibaba client.

``SdkAliyunClient`` (the real V1 SDK) calls the project's emulator over HTTP on
loopback; the emulator injects throttling, which the client retries. Metrics are read
as ``/metrics`` renders them, before and after (they are the process's).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from observability_support import value

from openbroker_aliyun import metrics
from openbroker_aliyun.aliyun import metrics as aliyun_metrics
from openbroker_aliyun.aliyun.port import AliyunError
from openbroker_aliyun.aliyun.sdk_client import SdkAliyunClient
from openbroker_aliyun.aliyun.settings import AliyunSettings
from openbroker_aliyun.emulator.config import EmulatorConfig
from openbroker_aliyun.emulator.faults import parse_fault_spec
from openbroker_aliyun.emulator.server import EmulatorServer

KEY_ID, KEY_SECRET = "metrics-test-key-id", "mS3cr3tMetricsAccessKeyValue0123"
ACCOUNT_PASSWORD = "Acc0unt-Pa55word-metrics-77"


@pytest.fixture
def client() -> Iterator[SdkAliyunClient]:
    config = EmulatorConfig.instant(
        access_keys={KEY_ID: KEY_SECRET},
        faults=[parse_fault_spec("rds/DescribeDBInstances=Throttling,Throttling,ok")],
    )
    with EmulatorServer(config) as server:
        settings = AliyunSettings(
            access_key_id=KEY_ID, access_key_secret=KEY_SECRET, region_id="cn-hangzhou", endpoint=server.url
        )
        # The one line a broker needs: on_call=aliyun_call_observer(). No real sleeping.
        sdk = SdkAliyunClient(settings, on_call=aliyun_metrics.aliyun_call_observer(), sleep=lambda _: None)
        try:
            yield sdk
        finally:
            sdk.close()


def _text() -> str:
    body, _ = metrics.render(None)
    return body.decode()


def test_attempts_retries_and_durations_by_action_and_code(client: SdkAliyunClient) -> None:
    before = _text()
    client.call("rds", "DescribeDBInstances", {"RegionId": "cn-hangzhou"}, idempotent=True)
    with pytest.raises(AliyunError) as missing:
        client.call(
            "rds", "DescribeDBInstanceAttribute", {"DBInstanceId": "rm-metrics-nope"}, idempotent=True
        )
    after = _text()

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    regions = {"product": "rds", "action": "DescribeDBInstances"}
    # Two throttled attempts, then one that worked: three attempts, two retries.
    assert delta("aliyun_calls_total", code="Throttling", **regions) == 2
    assert delta("aliyun_calls_total", code="OK", **regions) == 1
    assert delta("aliyun_call_retries_total", **regions) == 2
    assert delta("aliyun_call_duration_seconds_count", **regions) == 3
    assert delta("aliyun_call_duration_seconds_bucket", le="+Inf", **regions) == 3

    attribute = {"product": "rds", "action": "DescribeDBInstanceAttribute"}
    code = missing.value.code
    assert code == "InvalidDBInstanceId.NotFound"
    # Not transient: one attempt, no retry.
    assert delta("aliyun_calls_total", code=code, **attribute) == 1
    assert delta("aliyun_call_retries_total", **attribute) == 0


def test_no_secret_or_parameter_reaches_a_label(client: SdkAliyunClient) -> None:
    with pytest.raises(AliyunError):
        client.call(
            "rds",
            "CreateAccount",
            {
                "DBInstanceId": "rm-metrics-secret-id",
                "AccountName": "app",
                "AccountPassword": ACCOUNT_PASSWORD,
            },
        )
    text = _text()
    assert value(text, "aliyun_calls_total", action="CreateAccount") >= 1
    for secret in (KEY_SECRET, ACCOUNT_PASSWORD, "rm-secret-id"):
        assert secret not in text


def test_odd_values_are_folded_into_other() -> None:
    assert aliyun_metrics.code_label("InvalidDBInstanceId.NotFound") == "InvalidDBInstanceId.NotFound"
    assert aliyun_metrics.code_label("SDK.HttpError") == "SDK.HttpError"
    assert aliyun_metrics.code_label("<html>502 Bad Gateway</html>") == "other"
    assert aliyun_metrics.code_label("A" * 200) == "other"
    assert aliyun_metrics.code_label("") == "other"
    assert metrics.method_label("get") == "GET"
    assert metrics.method_label("PROPFIND") == "other"


def test_an_odd_code_is_counted_as_other() -> None:
    """The observer counts whatever the client reports, under a label that cannot leak it."""
    before = _text()
    aliyun_metrics.observe_aliyun_call("r-kvstore", "DescribeInstances", "Weird code: with spaces", 1, -1.0)
    after = _text()
    labels = {"product": "r-kvstore", "action": "DescribeInstances", "code": "other"}
    assert value(after, "aliyun_calls_total", **labels) - value(before, "aliyun_calls_total", **labels) == 1
