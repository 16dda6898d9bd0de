"""The state file: what exists survives an emulator restart (redis-server children included)."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Callable

import pytest
import redis
from backing_services import require_redis_server
from emulator_sdk import (
    MYSQL_INSTANCE,
    PASSWORD,
    REDIS_INSTANCE,
    FakeClock,
    Sdk,
    kv,
    rds,
)
from redis.backoff import NoBackoff
from redis.retry import Retry

from openbroker_aliyun.emulator import EmulatorConfig, EmulatorServer, create_emulator_app


def test_metadata_tokens_and_transitions_survive_a_restart(
    serve: Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    state_file = tmp_path / "state" / "emulator.json"
    clock = FakeClock()
    config = EmulatorConfig(state_file=str(state_file), create_seconds=60, delete_seconds=0, modify_seconds=0)
    first = serve(config, clock=clock)
    sdk = Sdk(first.url)
    ready = sdk.call(
        rds("CreateDBInstance", ClientToken="tok-1", Tags=[{"Key": "osb", "Value": "1"}], **MYSQL_INSTANCE)
    )
    clock.advance(60)
    sdk.call(
        rds("CreateAccount", DBInstanceId=ready["DBInstanceId"], AccountName="app", AccountPassword=PASSWORD)
    )
    sdk.call(
        rds("CreateDatabase", DBInstanceId=ready["DBInstanceId"], DBName="orders", CharacterSetName="utf8")
    )
    creating = sdk.call(rds("CreateDBInstance", **MYSQL_INSTANCE))["DBInstanceId"]
    cache = sdk.call(kv("CreateInstance", Token="tok-2", **REDIS_INSTANCE))["InstanceId"]
    first.stop()
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600

    second = serve(config, clock=clock)
    sdk = Sdk(second.url)
    accounts = sdk.call(rds("DescribeAccounts", DBInstanceId=ready["DBInstanceId"]))["Accounts"][
        "DBInstanceAccount"
    ]
    assert [a["AccountName"] for a in accounts] == ["app"]
    databases = sdk.call(rds("DescribeDatabases", DBInstanceId=ready["DBInstanceId"]))["Databases"][
        "Database"
    ]
    assert [d["DBName"] for d in databases] == ["orders"]
    again = sdk.call(
        rds("CreateDBInstance", ClientToken="tok-1", Tags=[{"Key": "osb", "Value": "1"}], **MYSQL_INSTANCE)
    )
    assert again["DBInstanceId"] == ready["DBInstanceId"]
    assert sdk.call(kv("CreateInstance", Token="tok-2", **REDIS_INSTANCE))["InstanceId"] == cache
    [attribute] = sdk.call(rds("DescribeDBInstanceAttribute", DBInstanceId=creating))["Items"][
        "DBInstanceAttribute"
    ]
    assert attribute["DBInstanceStatus"] == "Creating"
    clock.advance(60)
    [attribute] = sdk.call(rds("DescribeDBInstanceAttribute", DBInstanceId=creating))["Items"][
        "DBInstanceAttribute"
    ]
    assert attribute["DBInstanceStatus"] == "Running"
    sdk.call(rds("DeleteDBInstance", DBInstanceId=creating))
    second.stop()
    third = serve(config, clock=clock)
    assert {i["DBInstanceId"] for i in third.app.instances()["rds"]} == {ready["DBInstanceId"]}


def test_a_broken_state_file_is_refused_clearly(tmp_path: Path) -> None:
    state_file = tmp_path / "emulator.json"
    state_file.write_text('{"rds": {"rm-x": {"id": 1}}}')
    with pytest.raises(ValueError, match="not a valid emulator state"):
        create_emulator_app(EmulatorConfig.instant(state_file=str(state_file)))


@pytest.mark.services
def test_redis_children_come_back_with_their_accounts(
    serve: Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    require_redis_server()
    config = EmulatorConfig.instant(redis=True, state_file=str(tmp_path / "emulator.json"))
    first = serve(config)
    sdk = Sdk(first.url)
    created = sdk.call(kv("CreateInstance", Password=PASSWORD, **REDIS_INSTANCE))
    sdk.call(
        kv("CreateAccount", InstanceId=created["InstanceId"], AccountName="app", AccountPassword=PASSWORD)
    )
    first.stop()

    second = serve(config)
    [details] = Sdk(second.url).call(kv("DescribeInstanceAttribute", InstanceId=created["InstanceId"]))[
        "Instances"
    ]["DBInstanceAttribute"]
    port = details["Port"]
    as_app = redis.Redis(port=port, username="app", password=PASSWORD, retry=Retry(NoBackoff(), 0))
    as_default = redis.Redis(port=port, password=PASSWORD, retry=Retry(NoBackoff(), 0))
    assert as_app.set("k", "v") and as_default.get("k") == b"v"
