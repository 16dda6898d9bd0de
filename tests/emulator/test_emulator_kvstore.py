"""R-kvstore 2015-01-01 through the real V1 SDK request classes: every action, lifecycles, refusals."""

from __future__ import annotations

from typing import Any, Callable

import pytest
from emulator_sdk import PASSWORD, REDIS_INSTANCE, FakeClock, Sdk, kv

from openbroker_aliyun.emulator import EmulatorConfig, EmulatorServer


def create(sdk: Sdk, **extra: Any) -> str:
    return str(sdk.call(kv("CreateInstance", **{**REDIS_INSTANCE, **extra}))["InstanceId"])


def attribute(sdk: Sdk, instance_id: str) -> dict[str, Any]:
    [item] = sdk.call(kv("DescribeInstanceAttribute", InstanceId=instance_id))["Instances"][
        "DBInstanceAttribute"
    ]
    return dict(item)


@pytest.fixture
def clocked(serve: Callable[..., EmulatorServer]) -> tuple[Sdk, FakeClock]:
    clock = FakeClock()
    config = EmulatorConfig(create_seconds=60, modify_seconds=60, delete_seconds=60, ssl_seconds=60)
    return Sdk(serve(config, clock=clock).url), clock


def test_create_and_lifecycles(clocked: tuple[Sdk, FakeClock]) -> None:
    sdk, clock = clocked
    created = sdk.call(
        kv(
            "CreateInstance",
            InstanceName="cache-1",
            Password=PASSWORD,
            Tags=[{"Key": "osb", "Value": "1"}],
            **REDIS_INSTANCE,
        )
    )
    instance_id = created["InstanceId"]
    assert created["InstanceStatus"] == "Creating"
    assert isinstance(created["Port"], int) and isinstance(created["Capacity"], int)
    assert (created["ConnectionDomain"], created["Capacity"]) == ("127.0.0.1", 1024)
    details = attribute(sdk, instance_id)
    assert details["InstanceStatus"] == "Creating" and details["Tags"]["Tag"] == [
        {"Key": "osb", "Value": "1"}
    ]
    for request in (
        kv("CreateAccount", InstanceId=instance_id, AccountName="app", AccountPassword=PASSWORD),
        kv("DeleteInstance", InstanceId=instance_id),
        kv("ModifyInstanceSpec", InstanceId=instance_id, InstanceClass="redis.master.mid.default"),
    ):
        assert sdk.error(request).get_error_code() == "IncorrectDBInstanceState"
    clock.advance(60)
    assert attribute(sdk, instance_id)["InstanceStatus"] == "Normal"

    assert sdk.call(
        kv("ModifyInstanceSpec", InstanceId=instance_id, InstanceClass="redis.master.mid.default")
    )["OrderId"]
    details = attribute(sdk, instance_id)
    assert (details["InstanceStatus"], details["Capacity"]) == ("Changing", 1024)
    clock.advance(60)
    details = attribute(sdk, instance_id)
    assert (details["InstanceStatus"], details["InstanceClass"], details["Capacity"]) == (
        "Normal",
        "redis.master.mid.default",
        2048,
    )

    sdk.call(kv("ModifyInstanceSSL", InstanceId=instance_id, SSLEnabled="Enable"))
    assert attribute(sdk, instance_id)["InstanceStatus"] == "SSLModifying"
    clock.advance(60)
    assert sdk.call(kv("DescribeInstanceSSL", InstanceId=instance_id))["SSLEnabled"] == "Enable"

    sdk.call(kv("DeleteInstance", InstanceId=instance_id))
    assert attribute(sdk, instance_id)["InstanceStatus"] == "Released"
    clock.advance(60)
    error = sdk.error(kv("DescribeInstanceAttribute", InstanceId=instance_id))
    assert (error.get_error_code(), error.get_http_status()) == ("InvalidInstanceId.NotFound", 404)


def test_create_validation(sdk: Sdk) -> None:
    def code(**params: Any) -> str:
        return sdk.error(kv("CreateInstance", **params)).get_error_code()

    assert code() == "MissingParameter"  # InstanceClass or Capacity
    assert code(InstanceClass="Not A Class") == "InvalidParameter"
    assert code(**(REDIS_INSTANCE | {"EngineVersion": "3.2"})) == "InvalidParameter"
    assert code(Password="weak", **REDIS_INSTANCE) == "InvalidPassword.Malformed"
    assert code(NetworkType="VPC", **REDIS_INSTANCE) == "MissingParameter"
    assert code(InstanceName="x", **REDIS_INSTANCE) == "InvalidInstanceName.Malformed"
    assert sdk.call(kv("DescribeInstances"))["TotalCount"] == 0
    by_capacity = sdk.call(kv("CreateInstance", Capacity=4096))
    assert by_capacity["Capacity"] == 4096
    assert attribute(sdk, by_capacity["InstanceId"])["InstanceClass"] == "redis.master.stand.default"


def test_token_idempotency(sdk: Sdk) -> None:
    first = sdk.call(kv("CreateInstance", Token="osb-1", **REDIS_INSTANCE))
    again = sdk.call(kv("CreateInstance", Token="osb-1", **REDIS_INSTANCE))
    assert again["InstanceId"] == first["InstanceId"]
    error = sdk.error(kv("CreateInstance", Token="osb-1", InstanceClass="redis.master.mid.default"))
    assert error.get_error_code() == "IdempotentParameterMismatch"
    assert sdk.call(kv("DescribeInstances"))["TotalCount"] == 1

    instance_id = first["InstanceId"]
    change = kv(
        "ModifyInstanceSpec",
        InstanceId=instance_id,
        InstanceClass="redis.master.mid.default",
        ClientToken="c1",
    )
    order = sdk.call(change)["OrderId"]
    repeat = kv(
        "ModifyInstanceSpec",
        InstanceId=instance_id,
        InstanceClass="redis.master.mid.default",
        ClientToken="c1",
    )
    assert sdk.call(repeat)["OrderId"] == order  # the same change, not a second one


def test_describe_instances_filters_and_paging(sdk: Sdk) -> None:
    ids = [create(sdk, InstanceName=f"cache-{n}", Tags=[{"Key": "broker", "Value": "b1"}]) for n in range(4)]
    other = create(sdk, EngineVersion="5.0")

    def listed(**params: Any) -> dict[str, Any]:
        return sdk.call(kv("DescribeInstances", **params))

    everything = listed()
    assert everything["TotalCount"] == 5 and everything["PageSize"] == 30
    assert [i["InstanceId"] for i in everything["Instances"]["KVStoreInstance"]] == [*ids, other]
    assert [
        i["InstanceId"] for i in listed(InstanceIds=f"{ids[2]},{other}")["Instances"]["KVStoreInstance"]
    ] == [
        ids[2],
        other,
    ]
    assert listed(Tags=[{"Key": "broker", "Value": "b1"}])["TotalCount"] == 4
    assert listed(EngineVersion="5.0")["TotalCount"] == 1
    assert listed(SearchKey="cache-2")["Instances"]["KVStoreInstance"][0]["InstanceId"] == ids[2]
    assert listed(InstanceStatus="Normal")["TotalCount"] == 5
    page = listed(PageSize=2, PageNumber=3)
    assert [i["InstanceId"] for i in page["Instances"]["KVStoreInstance"]] == [other]
    assert sdk.error(kv("DescribeInstances", PageSize=51)).get_error_code() == "InvalidParameter"
    too_many = ",".join(f"r-{n}" for n in range(31))
    assert sdk.error(kv("DescribeInstances", InstanceIds=too_many)).get_error_code() == "InvalidParameter"


def test_accounts(sdk: Sdk) -> None:
    instance_id = create(sdk)
    created = sdk.call(
        kv(
            "CreateAccount",
            InstanceId=instance_id,
            AccountName="reader",
            AccountPassword=PASSWORD,
            AccountPrivilege="RoleReadOnly",
        )
    )
    assert created["AcountName"] == "reader"  # sic: Alibaba's response field
    sdk.call(kv("CreateAccount", InstanceId=instance_id, AccountName="writer", AccountPassword=PASSWORD))
    accounts = sdk.call(kv("DescribeAccounts", InstanceId=instance_id))["Accounts"]["Account"]
    privileges = {
        a["AccountName"]: a["DatabasePrivileges"]["DatabasePrivilege"][0]["AccountPrivilege"]
        for a in accounts
    }
    assert privileges == {
        instance_id: "RoleReadWrite",
        "default": "RoleReadWrite",
        "reader": "RoleReadOnly",
        "writer": "RoleReadWrite",
    }

    def code(action: str, **params: Any) -> str:
        return sdk.error(kv(action, InstanceId=instance_id, **params)).get_error_code()

    assert (
        code("CreateAccount", AccountName="reader", AccountPassword=PASSWORD)
        == "InvalidAccountName.Duplicate"
    )
    assert (
        code("CreateAccount", AccountName="default", AccountPassword=PASSWORD) == "InvalidAccountName.Forbid"
    )
    assert (
        code("CreateAccount", AccountName="Upper", AccountPassword=PASSWORD) == "InvalidAccountName.Malformed"
    )
    assert (
        code("CreateAccount", AccountName="weak", AccountPassword="weakweak")
        == "InvalidAccountPassword.Malformed"
    )
    assert code(
        "CreateAccount", AccountName="x1", AccountPassword=PASSWORD, AccountPrivilege="RoleAdmin"
    ) == ("InvalidParameter")
    assert code("DeleteAccount", AccountName=instance_id) == "InvalidAccountName.Forbid"
    assert code("DeleteAccount", AccountName="ghost") == "InvalidAccountName.NotFound"

    sdk.call(
        kv(
            "GrantAccountPrivilege",
            InstanceId=instance_id,
            AccountName="reader",
            AccountPrivilege="RoleReadWrite",
        )
    )
    sdk.call(
        kv(
            "ResetAccountPassword",
            InstanceId=instance_id,
            AccountName="reader",
            AccountPassword="N3w!passw0rd",
        )
    )
    sdk.call(
        kv(
            "ResetAccountPassword",
            InstanceId=instance_id,
            AccountName=instance_id,
            AccountPassword="N3w!passw0rd",
        )
    )
    sdk.call(kv("DeleteAccount", InstanceId=instance_id, AccountName="writer"))
    names = [
        a["AccountName"]
        for a in sdk.call(kv("DescribeAccounts", InstanceId=instance_id, AccountName="reader"))["Accounts"][
            "Account"
        ]
    ]
    assert names == ["reader"]
    assert len(sdk.call(kv("DescribeAccounts", InstanceId=instance_id))["Accounts"]["Account"]) == 3


def test_account_rules_of_engine_versions_and_the_quota(sdk: Sdk) -> None:
    old = create(sdk, EngineVersion="2.8")
    error = sdk.error(kv("CreateAccount", InstanceId=old, AccountName="app", AccountPassword=PASSWORD))
    assert error.get_error_code() == "IncorrectEngineVersion"
    v4 = create(sdk, EngineVersion="4.0")
    names = [a["AccountName"] for a in sdk.call(kv("DescribeAccounts", InstanceId=v4))["Accounts"]["Account"]]
    assert names == [v4]  # no `default` account before 6.0
    for n in range(18):
        sdk.call(kv("CreateAccount", InstanceId=v4, AccountName=f"app{n}", AccountPassword=PASSWORD))
    error = sdk.error(kv("CreateAccount", InstanceId=v4, AccountName="app18", AccountPassword=PASSWORD))
    assert error.get_error_code() == "QuotaExceeded.Account"


def test_security_ips_and_ssl(sdk: Sdk) -> None:
    instance_id = create(sdk)
    sdk.call(kv("ModifySecurityIps", InstanceId=instance_id, SecurityIps="10.0.0.1,10.0.0.2"))
    sdk.call(kv("ModifySecurityIps", InstanceId=instance_id, SecurityIps="10.0.0.3", ModifyMode="Append"))
    sdk.call(
        kv("ModifySecurityIps", InstanceId=instance_id, SecurityIps="10.1.0.0/16", SecurityIpGroupName="apps")
    )
    groups = sdk.call(kv("DescribeSecurityIps", InstanceId=instance_id))["SecurityIpGroups"][
        "SecurityIpGroup"
    ]
    assert {g["SecurityIpGroupName"]: g["SecurityIpList"] for g in groups} == {
        "default": "10.0.0.1,10.0.0.2,10.0.0.3",
        "apps": "10.1.0.0/16",
    }
    error = sdk.error(kv("ModifySecurityIps", InstanceId=instance_id, SecurityIps="nope"))
    assert error.get_error_code() == "InvalidSecurityIps.Malformed"
    assert sdk.call(kv("DescribeInstanceSSL", InstanceId=instance_id))["SSLEnabled"] == "Disable"
    assert sdk.call(kv("ModifyInstanceSSL", InstanceId=instance_id, SSLEnabled="Enable"))["TaskId"]
    assert sdk.call(kv("DescribeInstanceSSL", InstanceId=instance_id))["SSLEnabled"] == "Enable"
    assert sdk.error(
        kv("ModifyInstanceSSL", InstanceId=instance_id, SSLEnabled="Maybe")
    ).get_error_code() == ("InvalidParameter")


def test_tags(sdk: Sdk) -> None:
    first, second = create(sdk), create(sdk)
    sdk.call(
        kv(
            "TagResources",
            ResourceType="INSTANCE",
            ResourceIds=[first, second],
            Tags=[{"Key": "env", "Value": "t"}],
        )
    )
    body = sdk.call(kv("ListTagResources", ResourceType="INSTANCE", ResourceIds=[first]))
    assert body["TagResources"]["TagResource"] == [
        {"ResourceId": first, "ResourceType": "ALIYUN::KVSTORE::INSTANCE", "TagKey": "env", "TagValue": "t"}
    ]
    sdk.call(kv("UntagResources", ResourceType="INSTANCE", ResourceIds=[first], TagKeys=["env"]))
    tagged = sdk.call(kv("ListTagResources", ResourceType="INSTANCE", Tags=[{"Key": "env"}]))
    assert [r["ResourceId"] for r in tagged["TagResources"]["TagResource"]] == [second]
    error = sdk.error(
        kv(
            "TagResources",
            ResourceType="INSTANCE",
            ResourceIds=["r-ghost"],
            Tags=[{"Key": "a", "Value": "b"}],
        )
    )
    assert error.get_error_code() == "InvalidInstanceId.NotFound"


def test_not_found_and_unknown_action(emulator: EmulatorServer, sdk: Sdk) -> None:
    for action in ("DescribeInstanceAttribute", "DeleteInstance", "DescribeAccounts", "DescribeSecurityIps"):
        error = sdk.error(kv(action, InstanceId="r-doesnotexist"))
        assert (error.get_error_code(), error.get_http_status()) == ("InvalidInstanceId.NotFound", 404), (
            action
        )
    error = sdk.error(kv("FlushInstance", InstanceId="r-doesnotexist"))
    assert (error.get_error_code(), error.get_http_status()) == ("InvalidAction.NotFound", 404)
