"""The typed wire types against the emulator's real answers, action by action.

Every action the brokers call (``RDS_ACTIONS``, ``KVSTORE_ACTIONS``) is made with its typed
request through the real V1 SDK transport against the project's emulator on loopback, in
an order that makes each one valid (create, then describe, then accounts, ..., delete).
Each answer is parsed into the typed answer, and every field the answer type declares
must be in the answer, with the declared JSON type (in every item of a list, and lists
the type reads must not be empty): a field renamed or retyped on either side fails here.
"""

from __future__ import annotations

import dataclasses
import tempfile
from typing import Any, Callable, Iterator, Mapping, Sequence, get_args, get_origin, get_type_hints

import broker_harness
import pytest
from aliyun_brokers.common.naming import resource_tag_list
from aliyun_brokers.common.settings import CloudBrokerSettings
from aliyun_brokers.common.wire import WireRequest, WireResponse, parse, to_params
from aliyun_brokers.rds import wire as rds
from aliyun_brokers.rds.cloud import RDS_ACTIONS
from aliyun_brokers.redis import wire as kv
from aliyun_brokers.redis.cloud import KVSTORE_ACTIONS

from openbroker_aliyun.aliyun.port import AliyunPort, Product

KEY_ID, KEY_SECRET = "contract-key", "contract-SECRET-9f8e7d6c"
REGION = "cn-hangzhou"
PASSWORD = "Contract-Passw0rd"
TAGS = resource_tag_list("contract-broker", "osb-contract")

#: One call: its request, given what earlier answers said, and the type of its answer.
Call = tuple[Callable[[dict[str, Any]], WireRequest], type]


@pytest.fixture(scope="module")
def port() -> Iterator[AliyunPort]:
    """The real transport, against an emulator (it serves both products) with zero delays."""
    with (
        broker_harness.emulator("rds", KEY_ID, KEY_SECRET) as cloud,
        tempfile.TemporaryDirectory(prefix="contract-") as state_dir,
    ):
        settings = broker_harness.settings_for_tests(
            CloudBrokerSettings, cloud.url, state_dir, key_id=KEY_ID, key_secret=KEY_SECRET
        )
        yield broker_harness.fast_transport(settings)


RDS_CALLS: list[Call] = [
    (
        lambda seen: rds.CreateDBInstance(
            engine="MySQL",
            engine_version="8.0",
            db_instance_class="mysql.n2.small.1",
            db_instance_storage=20,
            db_instance_storage_type="cloud_essd",
            category="Basic",
            pay_type="Postpaid",
            db_instance_net_type="Intranet",
            instance_network_type="VPC",
            vpc_id="vpc-contract",
            vswitch_id="vsw-contract",
            zone_id="cn-hangzhou-h",
            security_ip_list="127.0.0.1",
            db_instance_description="osb-contract",
            client_token="contract-token-1",
            tag=TAGS,
        ),
        rds.CreateDBInstanceResponse,
    ),
    (
        lambda seen: rds.DescribeDBInstances(instance_ids=seen["id"], page_size=100),
        rds.DescribeDBInstancesResponse,
    ),
    (
        lambda seen: rds.DescribeDBInstances(
            tags='{"openbroker-instance": "osb-contract"}', page_size=100, page_number=1
        ),
        rds.DescribeDBInstancesResponse,
    ),
    (
        lambda seen: rds.DescribeDBInstanceAttribute(instance_id=seen["id"]),
        rds.DescribeDBInstanceAttributeResponse,
    ),
    (
        lambda seen: rds.DescribeDBInstanceNetInfo(instance_id=seen["id"]),
        rds.DescribeDBInstanceNetInfoResponse,
    ),
    (
        lambda seen: rds.ModifySecurityIps(
            instance_id=seen["id"], security_ips="127.0.0.1,10.0.0.0/8", modify_mode="Cover"
        ),
        WireResponse,
    ),
    (
        lambda seen: rds.CreateDatabase(
            instance_id=seen["id"],
            db_name="contract_db",
            character_set_name="utf8mb4",
            db_description="contract database",
        ),
        WireResponse,
    ),
    (
        lambda seen: rds.CreateAccount(
            instance_id=seen["id"],
            account_name="contract_user",
            account_password=PASSWORD,
            account_type="Normal",
            account_description="contract account",
        ),
        WireResponse,
    ),
    (
        lambda seen: rds.GrantAccountPrivilege(
            instance_id=seen["id"],
            account_name="contract_user",
            db_name="contract_db",
            account_privilege="ReadWrite",
        ),
        WireResponse,
    ),
    (
        lambda seen: rds.ResetAccountPassword(
            instance_id=seen["id"], account_name="contract_user", account_password=PASSWORD + "2"
        ),
        WireResponse,
    ),
    (
        lambda seen: rds.ModifyDBInstanceSSL(
            instance_id=seen["id"], connection_string=seen["host"], ssl_enabled=1
        ),
        WireResponse,
    ),
    (lambda seen: rds.DescribeDBInstanceSSL(instance_id=seen["id"]), rds.DescribeDBInstanceSSLResponse),
    (lambda seen: rds.DeleteAccount(instance_id=seen["id"], account_name="contract_user"), WireResponse),
    (
        lambda seen: rds.ModifyDBInstanceSpec(
            instance_id=seen["id"],
            db_instance_class="mysql.n2.medium.1",
            db_instance_storage=40,
            pay_type="Postpaid",
            effective_time="Immediate",
            category="HighAvailability",
        ),
        WireResponse,
    ),
    (lambda seen: rds.DeleteDBInstance(instance_id=seen["id"]), WireResponse),
]

KVSTORE_CALLS: list[Call] = [
    (
        lambda seen: kv.CreateInstance(
            instance_class="redis.master.small.default",
            shard_count=None,
            instance_type="Redis",
            engine_version="7.0",
            node_type="MASTER_SLAVE",
            charge_type="PostPaid",
            network_type="VPC",
            vpc_id="vpc-contract",
            vswitch_id="vsw-contract",
            zone_id="cn-hangzhou-h",
            password=PASSWORD,
            instance_name="osb-contract",
            token="contract-token-2",
            tag=TAGS,
        ),
        kv.CreateInstanceResponse,
    ),
    (lambda seen: kv.DescribeInstances(instance_ids=seen["id"], page_size=30), kv.DescribeInstancesResponse),
    (lambda seen: kv.DescribeInstances(tag=TAGS, page_size=50, page_number=1), kv.DescribeInstancesResponse),
    (
        lambda seen: kv.ModifySecurityIps(
            instance_id=seen["id"], security_ips="127.0.0.1,10.0.0.0/8", modify_mode="Cover"
        ),
        WireResponse,
    ),
    (
        lambda seen: kv.CreateAccount(
            instance_id=seen["id"],
            account_name="contract_user",
            account_password=PASSWORD,
            account_privilege="RoleReadOnly",
            account_type="Normal",
            account_description="contract account",
        ),
        WireResponse,
    ),
    (
        lambda seen: kv.ResetAccountPassword(
            instance_id=seen["id"], account_name="contract_user", account_password=PASSWORD + "2"
        ),
        WireResponse,
    ),
    (
        lambda seen: kv.GrantAccountPrivilege(
            instance_id=seen["id"], account_name="contract_user", account_privilege="RoleReadWrite"
        ),
        WireResponse,
    ),
    (lambda seen: kv.DeleteAccount(instance_id=seen["id"], account_name="contract_user"), WireResponse),
    (lambda seen: kv.ModifyInstanceSSL(instance_id=seen["id"], ssl_enabled="Enable"), WireResponse),
    (lambda seen: kv.DescribeInstanceSSL(instance_id=seen["id"]), kv.DescribeInstanceSSLResponse),
    (
        lambda seen: kv.ModifyInstanceSpec(
            instance_id=seen["id"],
            instance_class="redis.master.stand.default",
            effective_time="Immediately",
            client_token="contract-token-3",
            shard_count=None,
        ),
        WireResponse,
    ),
    (lambda seen: kv.DeleteInstance(instance_id=seen["id"]), WireResponse),
]


@pytest.mark.parametrize(
    ("product", "calls", "actions"),
    [("rds", RDS_CALLS, RDS_ACTIONS), ("r-kvstore", KVSTORE_CALLS, KVSTORE_ACTIONS)],
    ids=["rds", "r-kvstore"],
)
def test_every_action_answers_every_declared_field_with_its_type(
    port: AliyunPort, product: Product, calls: Sequence[Call], actions: Sequence[str]
) -> None:
    seen: dict[str, Any] = {}
    made = set()
    for request_of, answer_type in calls:
        request = request_of(seen)
        body = port.call(product, request.action, {"RegionId": REGION, **to_params(request)}, idempotent=True)
        answer: Any = parse(answer_type, body, action=request.action)  # the declared types
        assert absent(answer_type, body) == [], request.action  # and every declared field
        made.add(request.action)
        if isinstance(answer, (rds.CreateDBInstanceResponse, kv.CreateInstanceResponse)):
            seen["id"] = answer.instance_id
        if isinstance(answer, rds.DescribeDBInstanceNetInfoResponse):
            seen["host"] = answer.net_infos[0].connection_string
    assert made == set(actions)


def absent(kind: type, body: Mapping[str, Any], where: str = "") -> list[str]:
    """The declared paths of ``kind`` not in ``body``, and its lists that are empty."""
    missing = []
    hints = get_type_hints(kind)
    for item in dataclasses.fields(kind):
        path = item.metadata["wire"]
        value: Any = body
        for part in path.split("."):
            value = value.get(part) if isinstance(value, Mapping) and part in value else _ABSENT
        if value is _ABSENT:
            missing.append(f"{where}{path}")
            continue
        nested = _item_type(hints[item.name])
        if nested is not None:
            if not value:
                missing.append(f"{where}{path} (empty: its items are not checked)")
            for index, element in enumerate(value if isinstance(value, list) else [value]):
                missing.extend(absent(nested, element, f"{where}{path}[{index}]."))
    return missing


_ABSENT = object()


def _item_type(hint: Any) -> type | None:
    """The dataclass a field holds (directly, in a tuple, or optionally), else None."""
    for option in [hint, *get_args(hint)]:
        if get_origin(option) is tuple:
            option = get_args(option)[0]
        if dataclasses.is_dataclass(option):
            return option  # type: ignore[return-value]
    return None


def test_a_renamed_field_is_reported() -> None:
    """The check itself: a field the answer lacks, and an empty list, are named."""
    body = {
        "RequestId": "r",
        "Items": {"DBInstance": [{"DBInstanceId": "rm-1", "DBInstanceStatus": "Running"}]},
    }
    assert absent(rds.DescribeDBInstancesResponse, body) == [
        "Items.DBInstance[0].DBInstanceClass",
        "Items.DBInstance[0].LockMode",
    ]
    assert absent(rds.DescribeDBInstancesResponse, {"RequestId": "r", "Items": {"DBInstance": []}}) == [
        "Items.DBInstance (empty: its items are not checked)"
    ]
