"""RDS 2014-08-15 through the real V1 SDK request classes: every action, lifecycles and refusals."""

from __future__ import annotations

import json
import time
from typing import Any, Callable

import pytest
from emulator_sdk import MYSQL_INSTANCE, PASSWORD, PG_INSTANCE, FakeClock, Sdk, rds

from openbroker_aliyun.emulator import EmulatorConfig, EmulatorServer


def create(sdk: Sdk, **extra: Any) -> str:
    return str(sdk.call(rds("CreateDBInstance", **{**MYSQL_INSTANCE, **extra}))["DBInstanceId"])


def attribute(sdk: Sdk, instance_id: str) -> dict[str, Any]:
    [item] = sdk.call(rds("DescribeDBInstanceAttribute", DBInstanceId=instance_id))["Items"][
        "DBInstanceAttribute"
    ]
    return dict(item)


def status(sdk: Sdk, instance_id: str) -> str:
    return str(attribute(sdk, instance_id)["DBInstanceStatus"])


@pytest.fixture
def clocked(serve: Callable[..., EmulatorServer]) -> tuple[Sdk, FakeClock]:
    """Durations of 60 s, on a clock the test moves."""
    clock = FakeClock()
    config = EmulatorConfig(create_seconds=60, modify_seconds=60, delete_seconds=60, ssl_seconds=60)
    return Sdk(serve(config, clock=clock).url), clock


def test_create_describe_and_the_creating_running_lifecycle(clocked: tuple[Sdk, FakeClock]) -> None:
    sdk, clock = clocked
    instance_id = create(
        sdk,
        DBInstanceDescription="orders database",
        Tags=[{"Key": "team", "Value": "shop"}],
        ZoneId="cn-hangzhou-h",
        InstanceNetworkType="VPC",
        VPCId="vpc-1",
        VSwitchId="vsw-1",
    )
    details = attribute(sdk, instance_id)
    assert details["DBInstanceStatus"] == "Creating"
    assert details["Engine"] == "MySQL" and details["EngineVersion"] == "8.0"
    assert details["DBInstanceStorage"] == 20 and details["Port"] == "3306"
    assert (details["VpcId"], details["VSwitchId"], details["ZoneId"]) == ("vpc-1", "vsw-1", "cn-hangzhou-h")
    assert details["SecurityIPList"] == "127.0.0.1" and details["LockMode"] == "Unlock"
    # Accounts and deletion are refused while the instance is being created.
    assert (
        sdk.error(
            rds("CreateAccount", DBInstanceId=instance_id, AccountName="app", AccountPassword=PASSWORD)
        ).get_error_code()
        == "IncorrectDBInstanceState"
    )
    error = sdk.error(rds("DeleteDBInstance", DBInstanceId=instance_id))
    assert (error.get_error_code(), error.get_http_status()) == ("IncorrectDBInstanceState", 403)
    clock.advance(59)
    assert status(sdk, instance_id) == "Creating"
    clock.advance(1)
    assert status(sdk, instance_id) == "Running"


def test_spec_change_and_delete_lifecycles(clocked: tuple[Sdk, FakeClock]) -> None:
    sdk, clock = clocked
    instance_id = create(sdk)
    clock.advance(60)
    error = sdk.error(rds("ModifyDBInstanceSpec", DBInstanceId=instance_id))
    assert error.get_error_code() == "MissingParameter"
    changed = sdk.call(
        rds(
            "ModifyDBInstanceSpec",
            DBInstanceId=instance_id,
            DBInstanceClass="mysql.n4.large.2c",
            DBInstanceStorage=40,
        )
    )
    assert changed["DBInstanceId"] == instance_id and changed["OrderId"]
    details = attribute(sdk, instance_id)
    assert details["DBInstanceStatus"] == "DBInstanceClassChanging"
    assert details["DBInstanceClass"] == "mysql.n2.medium.1"  # applied only when the change is done
    assert (
        sdk.error(
            rds("ModifyDBInstanceSpec", DBInstanceId=instance_id, DBInstanceClass="mysql.n8.large.2c")
        ).get_error_code()
        == "IncorrectDBInstanceState"
    )
    clock.advance(60)
    details = attribute(sdk, instance_id)
    assert (details["DBInstanceStatus"], details["DBInstanceClass"], details["DBInstanceStorage"]) == (
        "Running",
        "mysql.n4.large.2c",
        40,
    )
    assert sdk.call(rds("DeleteDBInstance", DBInstanceId=instance_id))["RegionId"] == "cn-hangzhou"
    assert status(sdk, instance_id) == "Deleting"
    assert (
        sdk.error(rds("DeleteDBInstance", DBInstanceId=instance_id)).get_error_code()
        == "IncorrectDBInstanceState"
    )
    clock.advance(60)
    error = sdk.error(rds("DescribeDBInstanceAttribute", DBInstanceId=instance_id))
    assert (error.get_error_code(), error.get_http_status()) == ("InvalidDBInstanceId.NotFound", 404)


def test_short_real_durations(serve: Callable[..., EmulatorServer]) -> None:
    # Long enough that the first describe lands before the transition even on a loaded
    # machine; the transition itself is what the test waits for.
    sdk = Sdk(serve(EmulatorConfig(create_seconds=1.5, delete_seconds=0.2)).url)
    instance_id = create(sdk)
    seen = [status(sdk, instance_id)]
    for _ in range(400):  # bounded: 400 x 20 ms
        if seen[-1] == "Running":
            break
        time.sleep(0.02)
        seen.append(status(sdk, instance_id))
    assert seen[0] == "Creating" and seen[-1] == "Running"


def test_zero_durations_are_done_by_the_next_call(sdk: Sdk) -> None:
    instance_id = create(sdk)
    assert status(sdk, instance_id) == "Running"
    sdk.call(rds("DeleteDBInstance", DBInstanceId=instance_id))
    assert sdk.error(rds("DescribeDBInstanceAttribute", DBInstanceId=instance_id)).get_error_code() == (
        "InvalidDBInstanceId.NotFound"
    )


def test_create_validation(sdk: Sdk) -> None:
    def code(**changes: Any) -> str:
        params = {k: v for k, v in {**MYSQL_INSTANCE, **changes}.items() if v is not None}
        return sdk.error(rds("CreateDBInstance", **params)).get_error_code()

    assert code(Engine=None) == "MissingParameter"
    assert code(Engine="Oracle") == "InvalidParameter"
    assert code(EngineVersion="9.9") == "InvalidParameter"
    assert code(DBInstanceClass="pg.n2.small.1") == "InvalidDBInstanceClass.NotFound"
    assert code(DBInstanceStorage=None) == "MissingParameter"
    assert code(DBInstanceStorage=2) == "InvalidParameter"
    assert code(SecurityIPList="not-an-ip") == "InvalidSecurityIPList.Malformed"
    assert code(PayType="Prepaid") == "MissingParameter"  # Period / UsedTime
    assert code(InstanceNetworkType="VPC") == "MissingParameter"  # VPCId / VSwitchId
    assert code(DBInstanceDescription="1 starts with a digit") == "InvalidDBInstanceDescription.Malformed"
    assert code(Tags=[{"Key": "aliyun-reserved", "Value": "x"}]) == "InvalidTagKey.Malformed"
    assert sdk.call(rds("DescribeDBInstances"))["TotalRecordCount"] == 0  # nothing was created


def test_dry_run_creates_nothing(sdk: Sdk) -> None:
    body = sdk.call(rds("CreateDBInstance", DryRun=True, **MYSQL_INSTANCE))
    assert body["DryRunResult"] is True and "DBInstanceId" not in body
    assert sdk.call(rds("DescribeDBInstances"))["TotalRecordCount"] == 0


def test_client_token_idempotency(sdk: Sdk) -> None:
    first = sdk.call(rds("CreateDBInstance", ClientToken="osb-instance-1", **MYSQL_INSTANCE))
    again = sdk.call(rds("CreateDBInstance", ClientToken="osb-instance-1", **MYSQL_INSTANCE))
    assert again["DBInstanceId"] == first["DBInstanceId"]
    assert again["RequestId"] != first["RequestId"]
    error = sdk.error(
        rds("CreateDBInstance", ClientToken="osb-instance-1", **{**MYSQL_INSTANCE, "DBInstanceStorage": 50})
    )
    assert (error.get_error_code(), error.get_http_status()) == ("IdempotentParameterMismatch", 400)
    assert sdk.call(rds("DescribeDBInstances"))["TotalRecordCount"] == 1
    other = sdk.call(rds("CreateDBInstance", ClientToken="osb-instance-2", **MYSQL_INSTANCE))
    assert other["DBInstanceId"] != first["DBInstanceId"]
    assert sdk.error(rds("CreateDBInstance", ClientToken="x" * 65, **MYSQL_INSTANCE)).get_error_code() == (
        "InvalidParameter"
    )


def test_describe_instances_filters_and_paging(sdk: Sdk) -> None:
    ids = [
        create(sdk, Tags=[{"Key": "broker", "Value": "b1"}], DBInstanceDescription=f"osb-{n}")
        for n in range(5)
    ]
    pg = str(sdk.call(rds("CreateDBInstance", **PG_INSTANCE))["DBInstanceId"])
    assert pg.startswith("pgm-")

    def listed(**params: Any) -> dict[str, Any]:
        return sdk.call(rds("DescribeDBInstances", **params))

    everything = listed()
    assert everything["TotalRecordCount"] == 6 and everything["PageRecordCount"] == 6
    assert [i["DBInstanceId"] for i in everything["Items"]["DBInstance"]] == [*ids, pg]
    assert listed(Engine="PostgreSQL")["TotalRecordCount"] == 1
    assert [i["DBInstanceId"] for i in listed(DBInstanceId=f"{ids[1]},{ids[3]}")["Items"]["DBInstance"]] == [
        ids[1],
        ids[3],
    ]
    assert listed(Tags=json.dumps({"broker": "b1"}))["TotalRecordCount"] == 5
    assert listed(Tags=json.dumps([{"Key": "broker", "Value": "b1"}]))["TotalRecordCount"] == 5
    assert listed(Tags=json.dumps({"broker": "other"}))["TotalRecordCount"] == 0
    assert listed(SearchKey="osb-3")["Items"]["DBInstance"][0]["DBInstanceId"] == ids[3]
    assert listed(DBInstanceStatus="Running")["TotalRecordCount"] == 6
    page2 = listed(PageSize=4, PageNumber=2)
    assert page2["PageNumber"] == 2 and page2["PageRecordCount"] == 2
    assert [i["DBInstanceId"] for i in page2["Items"]["DBInstance"]] == [ids[4], pg]
    tokens = listed(MaxResults=4)
    assert tokens["NextToken"] == "4" and tokens["PageRecordCount"] == 4
    assert listed(MaxResults=4, NextToken="4")["NextToken"] == ""
    assert sdk.error(rds("DescribeDBInstances", PageSize=101)).get_error_code() == "InvalidParameter"
    assert sdk.error(rds("DescribeDBInstances", Tags="not json")).get_error_code() == "InvalidParameter"
    too_many = ",".join(f"rm-{n}" for n in range(101))
    assert sdk.error(rds("DescribeDBInstances", DBInstanceId=too_many)).get_error_code() == "InvalidParameter"


def test_instances_are_per_region(emulator: EmulatorServer, sdk: Sdk) -> None:
    instance_id = create(sdk)
    beijing = Sdk(emulator.url, region="cn-beijing")
    assert beijing.call(rds("DescribeDBInstances"))["TotalRecordCount"] == 0
    assert beijing.error(rds("DescribeDBInstanceAttribute", DBInstanceId=instance_id)).get_error_code() == (
        "InvalidDBInstanceId.NotFound"
    )


def test_deletion_protection(sdk: Sdk) -> None:
    instance_id = create(sdk, DeletionProtection=True)
    assert attribute(sdk, instance_id)["DeletionProtection"] is True
    error = sdk.error(rds("DeleteDBInstance", DBInstanceId=instance_id))
    assert (error.get_error_code(), error.get_http_status()) == ("OperationDenied.DeletionProtection", 403)
    sdk.call(rds("ModifyDBInstanceDeletionProtection", DBInstanceId=instance_id, DeletionProtection=False))
    sdk.call(rds("DeleteDBInstance", DBInstanceId=instance_id))
    assert sdk.call(rds("DescribeDBInstances"))["TotalRecordCount"] == 0


def test_accounts(sdk: Sdk) -> None:
    instance_id = create(sdk)
    sdk.call(rds("CreateAccount", DBInstanceId=instance_id, AccountName="app", AccountPassword=PASSWORD))
    sdk.call(
        rds(
            "CreateAccount",
            DBInstanceId=instance_id,
            AccountName="admin1",
            AccountPassword=PASSWORD,
            AccountType="Super",
            AccountDescription="the manager",
        )
    )
    accounts = sdk.call(rds("DescribeAccounts", DBInstanceId=instance_id))["Accounts"]["DBInstanceAccount"]
    assert [(a["AccountName"], a["AccountType"], a["AccountStatus"]) for a in accounts] == [
        ("app", "Normal", "Available"),
        ("admin1", "Super", "Available"),
    ]
    one = sdk.call(rds("DescribeAccounts", DBInstanceId=instance_id, AccountName="app"))["Accounts"]
    assert [a["AccountName"] for a in one["DBInstanceAccount"]] == ["app"]

    def code(action: str, **params: Any) -> str:
        return sdk.error(rds(action, DBInstanceId=instance_id, **params)).get_error_code()

    assert (
        code("CreateAccount", AccountName="app", AccountPassword=PASSWORD) == "InvalidAccountName.Duplicate"
    )
    assert code("CreateAccount", AccountName="other", AccountPassword=PASSWORD, AccountType="Super") == (
        "InvalidAccountType.Duplicate"
    )
    assert (
        code("CreateAccount", AccountName="9lives", AccountPassword=PASSWORD)
        == "InvalidAccountName.Malformed"
    )
    assert (
        code("CreateAccount", AccountName="a" * 33, AccountPassword=PASSWORD)
        == "InvalidAccountName.Malformed"
    )
    assert code("CreateAccount", AccountName="root", AccountPassword=PASSWORD) == "InvalidAccountName.Forbid"
    assert code("CreateAccount", AccountName="weak", AccountPassword="password") == (
        "InvalidAccountPassword.Malformed"
    )
    assert code("CreateAccount", AccountName="weak", AccountPassword="Pass word1") == (
        "InvalidAccountPassword.Malformed"
    )
    assert code("CreateAccount", AccountName="nopw") == "MissingParameter"

    sdk.call(
        rds(
            "ResetAccountPassword",
            DBInstanceId=instance_id,
            AccountName="app",
            AccountPassword="N3w!passw0rd",
        )
    )
    assert (
        code("ResetAccountPassword", AccountName="ghost", AccountPassword=PASSWORD)
        == "InvalidAccountName.NotFound"
    )
    assert (
        code("ResetAccountPassword", AccountName="app", AccountPassword="short")
        == "InvalidAccountPassword.Malformed"
    )
    sdk.call(rds("DeleteAccount", DBInstanceId=instance_id, AccountName="app"))
    error = sdk.error(rds("DeleteAccount", DBInstanceId=instance_id, AccountName="app"))
    assert (error.get_error_code(), error.get_http_status()) == ("InvalidAccountName.NotFound", 404)


def test_postgres_account_rules(sdk: Sdk) -> None:
    instance_id = str(sdk.call(rds("CreateDBInstance", **PG_INSTANCE))["DBInstanceId"])
    for name in ("manager1", "manager2"):  # several privileged accounts on PostgreSQL
        sdk.call(
            rds(
                "CreateAccount",
                DBInstanceId=instance_id,
                AccountName=name,
                AccountPassword=PASSWORD,
                AccountType="Super",
            )
        )
    for name, expected in (("pgadmin", "InvalidAccountName.Forbid"), ("App", "InvalidAccountName.Malformed")):
        error = sdk.error(
            rds("CreateAccount", DBInstanceId=instance_id, AccountName=name, AccountPassword=PASSWORD)
        )
        assert error.get_error_code() == expected


def test_databases_and_privileges(sdk: Sdk) -> None:
    instance_id = create(sdk)
    sdk.call(rds("CreateAccount", DBInstanceId=instance_id, AccountName="app", AccountPassword=PASSWORD))
    for name in ("orders", "audit-log"):
        sdk.call(rds("CreateDatabase", DBInstanceId=instance_id, DBName=name, CharacterSetName="utf8mb4"))

    def code(action: str, **params: Any) -> str:
        return sdk.error(rds(action, DBInstanceId=instance_id, **params)).get_error_code()

    assert code("CreateDatabase", DBName="orders", CharacterSetName="utf8") == "InvalidDBName.Duplicate"
    assert code("CreateDatabase", DBName="Bad", CharacterSetName="utf8") == "InvalidDBName.Malformed"
    assert code("CreateDatabase", DBName="mysql", CharacterSetName="utf8") == "InvalidDBName.Forbid"
    assert (
        code("CreateDatabase", DBName="fine", CharacterSetName="ebcdic")
        == "InvalidCharacterSetName.Malformed"
    )
    assert code("CreateDatabase", DBName="fine") == "MissingParameter"

    sdk.call(
        rds(
            "GrantAccountPrivilege",
            DBInstanceId=instance_id,
            AccountName="app",
            DBName="orders,audit-log",
            AccountPrivilege="ReadWrite,ReadOnly",
        )
    )
    [account] = sdk.call(rds("DescribeAccounts", DBInstanceId=instance_id))["Accounts"]["DBInstanceAccount"]
    granted = {p["DBName"]: p["AccountPrivilege"] for p in account["DatabasePrivileges"]["DatabasePrivilege"]}
    assert granted == {"orders": "ReadWrite", "audit-log": "ReadOnly"}
    databases = sdk.call(rds("DescribeDatabases", DBInstanceId=instance_id))["Databases"]["Database"]
    assert [(d["DBName"], d["DBStatus"], d["CharacterSetName"]) for d in databases] == [
        ("orders", "Running", "utf8mb4"),
        ("audit-log", "Running", "utf8mb4"),
    ]
    assert databases[0]["Accounts"]["AccountPrivilegeInfo"][0]["Account"] == "app"
    assert [
        d["DBName"]
        for d in sdk.call(rds("DescribeDatabases", DBInstanceId=instance_id, DBName="orders"))["Databases"][
            "Database"
        ]
    ] == ["orders"]

    assert code("GrantAccountPrivilege", AccountName="app", DBName="orders", AccountPrivilege="DBOwner") == (
        "InvalidAccountPrivilege.Malformed"
    )
    assert code(
        "GrantAccountPrivilege", AccountName="app", DBName="orders,audit-log", AccountPrivilege="ReadOnly"
    ) == ("InvalidParameter")
    assert code("GrantAccountPrivilege", AccountName="app", DBName="ghost", AccountPrivilege="ReadOnly") == (
        "InvalidDBName.NotFound"
    )
    assert code(
        "GrantAccountPrivilege", AccountName="ghost", DBName="orders", AccountPrivilege="ReadOnly"
    ) == ("InvalidAccountName.NotFound")

    sdk.call(rds("RevokeAccountPrivilege", DBInstanceId=instance_id, AccountName="app", DBName="orders"))
    sdk.call(rds("DeleteDatabase", DBInstanceId=instance_id, DBName="audit-log"))
    [account] = sdk.call(rds("DescribeAccounts", DBInstanceId=instance_id))["Accounts"]["DBInstanceAccount"]
    assert account["DatabasePrivileges"]["DatabasePrivilege"] == []
    assert code("DeleteDatabase", DBName="audit-log") == "InvalidDBName.NotFound"


def test_network_whitelist_and_ssl(clocked: tuple[Sdk, FakeClock]) -> None:
    sdk, clock = clocked
    instance_id = create(sdk, SecurityIPList="10.0.0.1,10.0.0.2")
    clock.advance(60)
    assert sdk.call(
        rds("ModifySecurityIps", DBInstanceId=instance_id, SecurityIps="10.0.0.3", ModifyMode="Append")
    )["TaskId"]
    sdk.call(rds("ModifySecurityIps", DBInstanceId=instance_id, SecurityIps="10.0.0.1", ModifyMode="Delete"))
    sdk.call(
        rds(
            "ModifySecurityIps",
            DBInstanceId=instance_id,
            SecurityIps="192.168.0.0/16",
            DBInstanceIPArrayName="apps",
            DBInstanceIPArrayAttribute="hidden",
        )
    )
    groups = sdk.call(rds("DescribeDBInstanceIPArrayList", DBInstanceId=instance_id))["Items"][
        "DBInstanceIPArray"
    ]
    assert {g["DBInstanceIPArrayName"]: g["SecurityIPList"] for g in groups} == {
        "Default": "10.0.0.2,10.0.0.3",
        "apps": "192.168.0.0/16",
    }
    assert sdk.error(
        rds("ModifySecurityIps", DBInstanceId=instance_id, SecurityIps="300.1.1.1")
    ).get_error_code() == ("InvalidSecurityIPList.Malformed")

    net = sdk.call(rds("DescribeDBInstanceNetInfo", DBInstanceId=instance_id))
    [endpoint] = net["DBInstanceNetInfos"]["DBInstanceNetInfo"]
    assert (endpoint["ConnectionString"], endpoint["Port"], endpoint["IPType"]) == (
        "127.0.0.1",
        "3306",
        "Inner",
    )

    assert sdk.call(rds("DescribeDBInstanceSSL", DBInstanceId=instance_id))["SSLEnabled"] == "No"
    assert sdk.error(rds("ModifyDBInstanceSSL", DBInstanceId=instance_id, SSLEnabled=1)).get_error_code() == (
        "MissingParameter"
    )
    sdk.call(rds("ModifyDBInstanceSSL", DBInstanceId=instance_id, SSLEnabled=1, ConnectionString="127.0.0.1"))
    assert sdk.call(rds("DescribeDBInstanceSSL", DBInstanceId=instance_id))["SSLEnabled"] == "No"
    clock.advance(60)
    ssl = sdk.call(rds("DescribeDBInstanceSSL", DBInstanceId=instance_id))
    assert (ssl["SSLEnabled"], ssl["ConnectionString"]) == ("Yes", "127.0.0.1") and ssl["SSLExpireTime"]


def test_tags(sdk: Sdk) -> None:
    first, second = create(sdk, Tags=[{"Key": "osb", "Value": "1"}]), create(sdk)
    sdk.call(
        rds(
            "TagResources",
            ResourceType="INSTANCE",
            ResourceIds=[first, second],
            Tags=[{"Key": "env", "Value": "test"}],
        )
    )

    def listed(**params: Any) -> list[tuple[str, str, str]]:
        body = sdk.call(rds("ListTagResources", ResourceType="INSTANCE", **params))
        return [(r["ResourceId"], r["TagKey"], r["TagValue"]) for r in body["TagResources"]["TagResource"]]

    assert listed(ResourceIds=[first]) == [(first, "env", "test"), (first, "osb", "1")]
    assert listed(Tags=[{"Key": "osb", "Value": "1"}]) == [(first, "env", "test"), (first, "osb", "1")]
    sdk.call(rds("UntagResources", ResourceType="INSTANCE", ResourceIds=[first], TagKeys=["env"]))
    assert listed(ResourceIds=[first, second]) == [(first, "osb", "1"), (second, "env", "test")]
    sdk.call(rds("UntagResources", ResourceType="INSTANCE", ResourceIds=[second], All=True))
    assert listed(ResourceIds=[second]) == []

    missing = sdk.error(
        rds(
            "TagResources",
            ResourceType="INSTANCE",
            ResourceIds=["rm-ghost"],
            Tags=[{"Key": "a", "Value": "b"}],
        )
    )
    assert missing.get_error_code() == "InvalidDBInstanceId.NotFound"
    assert sdk.error(rds("ListTagResources", ResourceType="INSTANCE")).get_error_code() == "MissingParameter"
    assert sdk.error(
        rds("TagResources", ResourceType="DISK", ResourceIds=[first], Tags=[{"Key": "a"}])
    ).get_error_code() == ("InvalidParameter")


def test_not_found_everywhere(sdk: Sdk) -> None:
    for action in (
        "DescribeDBInstanceAttribute",
        "DeleteDBInstance",
        "DescribeAccounts",
        "DescribeDatabases",
        "DescribeDBInstanceIPArrayList",
        "DescribeDBInstanceNetInfo",
        "DescribeDBInstanceSSL",
    ):
        error = sdk.error(rds(action, DBInstanceId="rm-doesnotexist"))
        assert (error.get_error_code(), error.get_http_status()) == ("InvalidDBInstanceId.NotFound", 404), (
            action
        )
