"""flatten_params: the same query parameters the V1 SDK's request classes produce."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aliyunsdkr_kvstore.request.v20150101.TagResourcesRequest import TagResourcesRequest
from aliyunsdkrds.request.v20140815.CreateDBInstanceRequest import CreateDBInstanceRequest

from openbroker_aliyun.aliyun.wire_params import flatten_params


def test_matches_the_sdk_request_class_for_create_db_instance() -> None:
    tags = [{"Key": "osb-instance", "Value": "abc"}, {"Key": "broker", "Value": "b1"}]
    serverless = {"MaxCapacity": 8, "MinCapacity": 0.5, "AutoPause": False}
    reference = CreateDBInstanceRequest()
    reference.set_Tags(tags)
    reference.set_DeletionProtection(True)
    reference.set_ServerlessConfig(serverless)
    reference.set_DBInstanceStorage(20)
    reference.set_Engine("MySQL")
    ours = flatten_params(
        {
            "Tag": tags,
            "DeletionProtection": True,
            "ServerlessConfig": serverless,
            "DBInstanceStorage": 20,
            "Engine": "MySQL",
        }
    )
    assert ours == {name: str(value) for name, value in reference.get_query_params().items()}


def test_matches_the_sdk_request_class_for_tag_resources() -> None:
    reference = TagResourcesRequest()
    reference.set_ResourceIds(["r-1", "r-2"])
    reference.set_Tags([{"Key": "k", "Value": "v"}])
    ours = flatten_params({"ResourceId": ["r-1", "r-2"], "Tag": [{"Key": "k", "Value": "v"}]})
    assert ours == {name: str(value) for name, value in reference.get_query_params().items()}


@pytest.mark.parametrize(
    ("params", "wire"),
    [
        ({"DryRun": False}, {"DryRun": "False"}),
        ({"Port": 3306, "Ratio": 0.5}, {"Port": "3306", "Ratio": "0.5"}),
        ({"Skip": None, "Keep": ""}, {"Keep": ""}),
        ({"Tag": [{"Key": "k", "Value": None}]}, {"Tag.1.Key": "k"}),
        ({"Ids": ()}, {}),
        ({"Rule": [{"Ports": [80, 443]}]}, {"Rule.1.Ports.1": "80", "Rule.1.Ports.2": "443"}),
        ({"Tags": {"env": "prod"}}, {"Tags": json.dumps({"env": "prod"})}),
        ({"Description": "ünïcode & spaces"}, {"Description": "ünïcode & spaces"}),
    ],
)
def test_flattening_rules(params: dict[str, Any], wire: dict[str, str]) -> None:
    assert flatten_params(params) == wire


def test_unsupported_value_type_names_the_parameter_not_the_value() -> None:
    with pytest.raises(TypeError, match="AccountPassword") as caught:
        flatten_params({"AccountPassword": b"s3cr3t-bytes"})
    assert "s3cr3t" not in str(caught.value)


def test_names_must_be_strings() -> None:
    with pytest.raises(TypeError):
        flatten_params({"Tag": [{1: "x"}]})
