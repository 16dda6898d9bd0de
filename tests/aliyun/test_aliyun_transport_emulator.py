"""SdkAliyunClient against the project's emulator (metadata only, zero delays)."""

from __future__ import annotations

from typing import Iterator

import pytest
from aliyun_fakes import ACCESS_KEY_ID, ACCESS_KEY_SECRET, settings_for

from openbroker_aliyun.aliyun.errors import ErrorCategory, classify
from openbroker_aliyun.aliyun.port import AliyunError
from openbroker_aliyun.aliyun.sdk_client import SdkAliyunClient
from openbroker_aliyun.emulator.config import EmulatorConfig
from openbroker_aliyun.emulator.server import EmulatorServer

CREATE = {
    "RegionId": "cn-hangzhou",
    "Engine": "MySQL",
    "EngineVersion": "8.0",
    "DBInstanceClass": "mysql.n2.medium.1",
    "DBInstanceStorage": 20,
    "DBInstanceNetType": "Intranet",
    "PayType": "Postpaid",
    "SecurityIPList": "10.0.0.0/8",
    "ClientToken": "osb-transport-test-1",
    "Tag": [{"Key": "osb-instance-id", "Value": "i-1"}],
}


@pytest.fixture
def emulator_url() -> Iterator[str]:
    config = EmulatorConfig.instant(access_keys={ACCESS_KEY_ID: ACCESS_KEY_SECRET})
    with EmulatorServer(config) as server:
        yield server.url


def test_create_is_idempotent_by_client_token_and_describe_finds_it(emulator_url: str) -> None:
    client = SdkAliyunClient(settings_for(emulator_url))
    first = client.call("rds", "CreateDBInstance", CREATE, idempotent=True)
    again = client.call("rds", "CreateDBInstance", CREATE, idempotent=True)
    assert first["DBInstanceId"] == again["DBInstanceId"]
    found = client.call("rds", "DescribeDBInstances", {"RegionId": "cn-hangzhou"}, idempotent=True)
    assert [item["DBInstanceId"] for item in found["Items"]["DBInstance"]] == [first["DBInstanceId"]]


def test_emulator_errors_classify_like_alibaba(emulator_url: str) -> None:
    client = SdkAliyunClient(settings_for(emulator_url))
    with pytest.raises(AliyunError) as missing:
        client.call("rds", "DescribeDBInstanceAttribute", {"DBInstanceId": "rm-nope"}, idempotent=True)
    assert missing.value.code == "InvalidDBInstanceId.NotFound"
    assert missing.value.request_id
    assert classify(missing.value) is ErrorCategory.NOT_FOUND

    wrong = SdkAliyunClient(settings_for(emulator_url, access_key_secret="WrongSecretValue0123456789abcdef"))
    with pytest.raises(AliyunError) as denied:
        wrong.call("r-kvstore", "DescribeInstances", {}, idempotent=True)
    assert classify(denied.value) is ErrorCategory.AUTH
