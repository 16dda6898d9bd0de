"""The typed wire format: requests become Alibaba's parameters, answers become typed values,
and an answer without a field the broker needs fails there, naming the action and the field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import pytest
from aliyun_brokers.common.wire import Tag, WireFormatError, WireRequest, WireResponse, parse, to_params, wire
from aliyun_brokers.rds.wire import (
    CreateAccount,
    DescribeDBInstanceNetInfoResponse,
    DescribeDBInstancesResponse,
)
from aliyun_brokers.redis.wire import DescribeInstancesResponse, KVStoreInstance, ModifyInstanceSpec

from openbroker_aliyun.aliyun.wire_params import flatten_params


@dataclass(frozen=True, kw_only=True)
class Example(WireRequest):
    action: ClassVar[str] = "Example"
    instance_id: str = wire("DBInstanceId")
    storage: int = wire("DBInstanceStorage")
    flag: bool | None = wire("Flag", default=None)
    tag: tuple[Tag, ...] = wire("Tag", default=())


def test_a_request_is_alibabas_parameters_with_none_left_out() -> None:
    request = Example(instance_id="rm-1", storage=20, tag=(Tag(key="k", value="v"),))
    assert to_params(request) == {
        "DBInstanceId": "rm-1",
        "DBInstanceStorage": 20,
        "Tag": [{"Key": "k", "Value": "v"}],
    }
    # As the transport sends it: a repeat list of objects.
    assert flatten_params(to_params(request)) == {
        "DBInstanceId": "rm-1",
        "DBInstanceStorage": "20",
        "Tag.1.Key": "k",
        "Tag.1.Value": "v",
    }
    assert "InstanceClass" not in to_params(
        ModifyInstanceSpec(
            instance_id="r-1", instance_class=None, effective_time="Immediately", client_token="t"
        )
    )


def test_passwords_stay_out_of_a_requests_repr() -> None:
    request = CreateAccount(
        instance_id="rm-1",
        account_name="u1",
        account_password="Secret-Passw0rd",
        account_type="Normal",
        account_description="d",
    )
    assert "Secret-Passw0rd" not in repr(request)
    assert to_params(request)["AccountPassword"] == "Secret-Passw0rd"


def test_an_answer_is_typed_and_its_other_fields_are_ignored() -> None:
    body = {
        "RequestId": "req-1",
        "TotalRecordCount": 1,
        "Items": {
            "DBInstance": [
                {
                    "DBInstanceId": "rm-1",
                    "DBInstanceStatus": "Running",
                    "LockMode": "Unlock",
                    "Engine": "MySQL",
                }
            ]
        },
    }
    answer = parse(DescribeDBInstancesResponse, body, action="DescribeDBInstances")
    assert answer.request_id == "req-1"
    [item] = answer.items
    assert (item.instance_id, item.status, item.lock_mode, item.db_instance_class) == (
        "rm-1",
        "Running",
        "Unlock",
        None,  # optional, absent
    )


def test_nested_items_and_their_tags() -> None:
    body = {
        "RequestId": "req-2",
        "Instances": {
            "KVStoreInstance": [
                {
                    "InstanceId": "r-1",
                    "InstanceStatus": "Normal",
                    "Port": 6379,
                    "Tags": {"Tag": [{"Key": "a", "Value": "1"}]},
                },
                {"InstanceId": "r-2", "InstanceStatus": "Creating"},
            ]
        },
    }
    first, second = parse(DescribeInstancesResponse, body, action="DescribeInstances").items
    assert first == KVStoreInstance(
        instance_id="r-1", status="Normal", port=6379, tag_list=(Tag(key="a", value="1"),)
    )
    assert first.tags == {"a": "1"}
    assert second.tags is None  # no tags listed: nothing to check them against


def test_an_absent_list_is_empty() -> None:
    answer = parse(DescribeDBInstancesResponse, {"RequestId": "r"}, action="DescribeDBInstances")
    assert answer.items == ()


def test_a_missing_required_field_fails_naming_the_action_and_the_field() -> None:
    body = {"RequestId": "r", "Items": {"DBInstance": [{"DBInstanceStatus": "Running"}]}}
    with pytest.raises(
        WireFormatError, match=r"the DescribeDBInstances answer's Items\.DBInstance\[0\] has no DBInstanceId"
    ):
        parse(DescribeDBInstancesResponse, body, action="DescribeDBInstances")
    with pytest.raises(WireFormatError, match="the ModifySecurityIps answer has no RequestId"):
        parse(WireResponse, {}, action="ModifySecurityIps")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"RequestId": 7}, "RequestId is an integer, not a string"),
        ({"RequestId": "r", "Items": []}, "Items is a list, not an object"),
        ({"RequestId": "r", "Items": {"DBInstance": {"a": 1}}}, "Items.DBInstance is an object, not a list"),
        (
            {"RequestId": "r", "Items": {"DBInstance": [{"DBInstanceId": "rm-1", "DBInstanceStatus": True}]}},
            r"DBInstanceStatus is a boolean, not a string",
        ),
    ],
)
def test_a_value_of_another_type_fails_naming_the_field_never_the_value(
    body: dict[str, Any], message: str
) -> None:
    with pytest.raises(WireFormatError, match=message):
        parse(DescribeDBInstancesResponse, body, action="DescribeDBInstances")


def test_numbers_keep_alibabas_json_types() -> None:
    # RDS sends ports as strings; a number where a string is declared is refused, not converted.
    body = {
        "RequestId": "r",
        "DBInstanceNetInfos": {"DBInstanceNetInfo": [{"ConnectionString": "h", "Port": 3306}]},
    }
    with pytest.raises(WireFormatError, match="Port is an integer, not a string"):
        parse(DescribeDBInstanceNetInfoResponse, body, action="DescribeDBInstanceNetInfo")
    body["DBInstanceNetInfos"]["DBInstanceNetInfo"][0]["Port"] = "3306"  # type: ignore[index]
    answer = parse(DescribeDBInstanceNetInfoResponse, body, action="DescribeDBInstanceNetInfo")
    assert answer.private_endpoint() == ("h", 3306)


def test_a_flag_is_not_a_number() -> None:
    body = {
        "RequestId": "r",
        "Instances": {"KVStoreInstance": [{"InstanceId": "r", "InstanceStatus": "Normal", "Port": True}]},
    }
    with pytest.raises(WireFormatError, match="Port is a boolean, not an integer"):
        parse(DescribeInstancesResponse, body, action="DescribeInstances")
