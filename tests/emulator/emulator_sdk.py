"""Helpers of the emulator tests: the real V1 SDK pointed at the emulator, request builders, fakes."""

from __future__ import annotations

import importlib
import json
import uuid
from typing import Any

import pytest
from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.request import RpcRequest

REGION = "cn-hangzhou"
AK, SECRET = "testak", "testsecret"


def rds(action: str, **params: Any) -> RpcRequest:
    """A real ``aliyunsdkrds`` request object, filled through its own ``set_X`` methods."""
    module = importlib.import_module(f"aliyunsdkrds.request.v20140815.{action}Request")
    request = getattr(module, f"{action}Request")()
    for name, value in params.items():
        getattr(request, f"set_{name}")(value)
    return request


def kv(action: str, **params: Any) -> RpcRequest:
    """A real ``aliyunsdkr_kvstore`` request object."""
    module = importlib.import_module(f"aliyunsdkr_kvstore.request.v20150101.{action}Request")
    request = getattr(module, f"{action}Request")()
    for name, value in params.items():
        getattr(request, f"set_{name}")(value)
    return request


class Sdk:
    """An ``AcsClient`` pointed at the emulator (explicit no-proxy: the reference's proxy trap)."""

    def __init__(self, url: str, access_key_id: str = AK, secret: str = SECRET, region: str = REGION) -> None:
        self.client = AcsClient(
            access_key_id, secret, region, proxy={"http": None, "https": None}, timeout=15, connect_timeout=5
        )
        self.client.add_endpoint(region, "Rds", url)
        self.client.add_endpoint(region, "R-kvstore", url)

    def call(self, request: RpcRequest) -> dict[str, Any]:
        return json.loads(self.client.do_action_with_exception(request))

    def error(self, request: RpcRequest) -> ServerException:
        with pytest.raises(ServerException) as caught:
            self.client.do_action_with_exception(request)
        return caught.value

    def client_error(self, request: RpcRequest) -> ClientException:
        with pytest.raises(ClientException) as caught:
            self.client.do_action_with_exception(request)
        assert not isinstance(caught.value, ServerException)
        return caught.value


class FakeClock:
    """Lifecycle time the test moves by hand (request timestamps still use the real clock)."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def unique(prefix: str) -> str:
    """A unique lower-case name for the shared servers (tests/conftest.py's ``unique_name``
    cannot be imported by name here: several test folders have a ``conftest`` module)."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def delete_everything(sdk: Sdk) -> None:
    """Delete every RDS and R-kvstore instance (teardown: nothing may stay on the shared servers)."""
    for item in sdk.call(rds("DescribeDBInstances", PageSize=100))["Items"]["DBInstance"]:
        if item["DBInstanceStatus"] != "Running":
            continue
        if item["DeletionProtection"]:
            sdk.call(
                rds(
                    "ModifyDBInstanceDeletionProtection",
                    DBInstanceId=item["DBInstanceId"],
                    DeletionProtection=False,
                )
            )
        sdk.call(rds("DeleteDBInstance", DBInstanceId=item["DBInstanceId"]))
    for item in sdk.call(kv("DescribeInstances", PageSize=50))["Instances"]["KVStoreInstance"]:
        if item["InstanceStatus"] == "Normal":
            sdk.call(kv("DeleteInstance", InstanceId=item["InstanceId"]))


class SqlInstance:
    """One emulated RDS instance on a backing SQL server: create it, then accounts and databases."""

    charset = "utf8mb4"  # CreateDatabase's CharacterSetName unless a test gives one

    def __init__(self, sdk: Sdk, template: dict[str, Any], **extra: Any) -> None:
        self.sdk = sdk
        self.id = str(sdk.call(rds("CreateDBInstance", **{**template, **extra}))["DBInstanceId"])
        [attribute] = sdk.call(rds("DescribeDBInstanceAttribute", DBInstanceId=self.id))["Items"][
            "DBInstanceAttribute"
        ]
        self.host, self.port = attribute["ConnectionString"], int(attribute["Port"])

    def call(self, action: str, **params: Any) -> dict[str, Any]:
        return self.sdk.call(rds(action, DBInstanceId=self.id, **params))

    def account(self, kind: str = "Normal") -> str:
        name = unique("acct")
        self.call("CreateAccount", AccountName=name, AccountPassword=PASSWORD, AccountType=kind)
        return name

    def database(self, charset: str | None = None) -> str:
        name = unique("db")
        self.call("CreateDatabase", DBName=name, CharacterSetName=charset or self.charset)
        return name


MYSQL_INSTANCE = {
    "Engine": "MySQL",
    "EngineVersion": "8.0",
    "DBInstanceClass": "mysql.n2.medium.1",
    "DBInstanceStorage": 20,
    "DBInstanceNetType": "Intranet",
    "PayType": "Postpaid",
    "SecurityIPList": "127.0.0.1",
}
PG_INSTANCE = {
    **MYSQL_INSTANCE,
    "Engine": "PostgreSQL",
    "EngineVersion": "15.0",
    "DBInstanceClass": "pg.n2.small.1",
}
REDIS_INSTANCE = {"InstanceClass": "redis.master.small.default", "EngineVersion": "7.0"}
PASSWORD = "Passw0rd-Emu1"
