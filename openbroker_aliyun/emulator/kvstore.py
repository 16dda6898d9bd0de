"""R-kvstore 2015-01-01: the actions brokers need, over the in-memory state and redis children.

As in rds.py, every handler validates all of its input before it changes anything.
The caller holds the state lock.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, Callable

from .backends.base import BackendError
from .config import EmulatorConfig
from .discard import Discarded
from .errors import ApiError, incorrect_state, invalid_parameter, missing_parameter
from .formats import iso_time, new_instance_id, new_order_id, new_task_id
from .idempotency import TokenScope
from .params import Params
from .product import ProductActions
from .rules import check_description, check_kvstore_account_name, check_password
from .state import CloudState, IpGroup, KvAccount, KvInstance, Transition
from .tags import create_tags, tag_json
from .whitelist import MODES, modify_ip_group, parse_security_ips

if TYPE_CHECKING:
    from .backends.redis import RedisProcesses

log = logging.getLogger(__name__)

ENGINE_VERSIONS = ("2.8", "4.0", "5.0", "6.0", "7.0")
MAX_ACCOUNTS = 18
CAPACITY_BY_CLASS = {
    "redis.master.micro.default": 256,
    "redis.master.small.default": 1024,
    "redis.master.mid.default": 2048,
    "redis.master.stand.default": 4096,
    "redis.master.large.default": 8192,
    "redis.master.2xlarge.default": 16384,
    "redis.master.4xlarge.default": 32768,
    "redis.master.8xlarge.default": 65536,
    "redis.shard.small.ce": 1024,
    "redis.shard.mid.ce": 2048,
    "redis.shard.large.ce": 4096,
    "redis.shard.xlarge.ce": 8192,
}
READ_ONLY_ACTIONS = frozenset(
    {
        "DescribeInstanceAttribute", "DescribeInstances", "DescribeAccounts", "DescribeSecurityIps",
        "DescribeInstanceSSL", "ListTagResources", "DescribeRegions",
    }
)  # fmt: skip


def _not_found(instance_id: str) -> ApiError:
    return ApiError(
        "InvalidInstanceId.NotFound", f"The specified instance does not exist: {instance_id}.", 404
    )


def _capacity_of(instance_class: str) -> int:
    if instance_class in CAPACITY_BY_CLASS:
        return CAPACITY_BY_CLASS[instance_class]
    match = re.search(r"\.(\d+)g(\.|$)", instance_class)  # e.g. tair.rdb.4g
    return int(match.group(1)) * 1024 if match else 1024


def _default_accounts(instance: KvInstance) -> list[str]:
    """The accounts Alibaba creates: the instance id, and ``default`` from 6.0 on."""
    names = [instance.id]
    if float(instance.engine_version) >= 6.0:
        names.append("default")
    return names


class KvstoreActions(ProductActions[KvInstance]):
    """The R-kvstore product; ``handle`` dispatches one action."""

    product = "r-kvstore"
    id_parameter = "InstanceId"
    ready_status = "Normal"
    tag_resource_type = "ALIYUN::KVSTORE::INSTANCE"

    def __init__(
        self,
        state: CloudState,
        redis: RedisProcesses | None,
        config: EmulatorConfig,
        clock: Callable[[], float],
    ) -> None:
        super().__init__(state, state.kvstore, config, clock, _not_found)
        self._redis = redis
        self._actions = {
            "CreateInstance": self.create_instance,
            "DescribeInstanceAttribute": self.describe_instance_attribute,
            "DescribeInstances": self.describe_instances,
            "DeleteInstance": self.delete_instance,
            "ModifyInstanceSpec": self.modify_instance_spec,
            "CreateAccount": self.create_account,
            "DeleteAccount": self.delete_account,
            "DescribeAccounts": self.describe_accounts,
            "ResetAccountPassword": self.reset_account_password,
            "GrantAccountPrivilege": self.grant_account_privilege,
            "ModifySecurityIps": self.modify_security_ips,
            "DescribeSecurityIps": self.describe_security_ips,
            "ModifyInstanceSSL": self.modify_ssl,
            "DescribeInstanceSSL": self.describe_ssl,
            "TagResources": self.tag_resources,
            "UntagResources": self.untag_resources,
            "ListTagResources": self.list_tag_resources,
            "DescribeRegions": self.describe_regions,
        }

    # -- lifecycle --------------------------------------------------------------------------

    def restore(self) -> None:
        """After loading a state file: start the redis children again (their data is gone)."""
        if self._redis is None:
            return
        for instance in self._state.kvstore.values():
            if not instance.backed or instance.status in ("Released",):
                continue
            try:
                instance.port = self._redis.start(instance.id, instance.password, port=instance.port)
                for account in instance.accounts.values():
                    self._redis.set_account(instance.id, account.name, account.password, account.privilege)
            except BackendError as exc:
                log.error("could not restart redis-server for %s: %s", instance.id, exc)

    def discard(self) -> Discarded:
        """Stop the redis-server of every instance and forget the instances."""
        stopped: list[str] = []
        for instance in list(self._instances.values()):
            if self._redis is not None and self._redis.pid(instance.id) is not None:
                self._redis.stop(instance.id)
                stopped.append(instance.id)
            del self._instances[instance.id]
        return Discarded(redis_servers=tuple(stopped))

    # -- instances --------------------------------------------------------------------------

    def create_instance(self, p: Params, now: float) -> dict[str, Any]:
        token = TokenScope(self._state, "r-kvstore", "CreateInstance", p, "Token")
        previous = token.previous()
        if previous is not None:
            return previous
        region = p.required("RegionId")
        instance_class = p.optional("InstanceClass")
        capacity = p.integer("Capacity", 0, minimum=128, maximum=4 * 1024 * 1024) if "Capacity" in p else None
        if instance_class is None and capacity is None:
            raise missing_parameter("InstanceClass")
        if instance_class is not None and not re.fullmatch(r"[a-z0-9]+(\.[a-z0-9]+)+", instance_class):
            raise invalid_parameter("InstanceClass")
        if instance_class is None:
            by_capacity = {v: k for k, v in CAPACITY_BY_CLASS.items() if k.startswith("redis.master.")}
            instance_class = by_capacity.get(capacity or 0, "")
        capacity = capacity or _capacity_of(instance_class)
        engine_version = p.choice("EngineVersion", ENGINE_VERSIONS, "5.0")
        instance_type = p.choice("InstanceType", ["Redis", "Memcache"], "Redis")
        password = p.optional("Password", "") or ""
        if password:
            check_password(password, code="InvalidPassword.Malformed")
        name = p.text("InstanceName", max_length=80)
        check_description("InstanceName", name, max_length=80)
        charge_type = p.choice("ChargeType", ["PostPaid", "PrePaid"], "PostPaid")
        if charge_type == "PrePaid":
            p.required("Period")
        node_type = p.choice("NodeType", ["MASTER_SLAVE", "STAND_ALONE", "double", "single"], "MASTER_SLAVE")
        vpc_id = p.text("VpcId", max_length=64)
        vswitch_id = p.text("VSwitchId", max_length=64)
        network_type = p.choice("NetworkType", ["VPC", "CLASSIC"], "VPC" if vpc_id else "CLASSIC")
        if network_type == "VPC":
            p.required("VpcId")
            p.required("VSwitchId")
        requested_port = p.integer("Port", 6379, minimum=1024, maximum=65535)
        shard_count = p.integer("ShardCount", 1, minimum=1, maximum=256)
        tags = create_tags(p)
        if p.boolean("DryRun", False):
            return {"DryRun": True, "DryRunResult": True}

        instance_id = new_instance_id("r")
        backed = self._redis is not None and instance_type == "Redis"
        port = requested_port
        if backed:
            assert self._redis is not None
            port = self._redis.start(instance_id, password)
        instance = KvInstance(
            id=instance_id,
            region_id=region,
            name=name,
            instance_class=instance_class,
            capacity=capacity,
            engine_version=engine_version,
            instance_type=instance_type,
            node_type=node_type,
            network_type=network_type,
            vpc_id=vpc_id,
            vswitch_id=vswitch_id,
            zone_id=p.text("ZoneId", f"{region}-a", max_length=64),
            charge_type=charge_type,
            shard_count=shard_count,
            order_id=new_order_id(),
            created=now,
            status="Creating",
            host="127.0.0.1",
            port=port,
            backed=backed,
            password=password,
            transition=Transition(due=now + self._config.create_seconds, then="Normal"),
            ip_groups=[IpGroup("default", ["127.0.0.1"])],
            tags=tags,
        )
        self._state.kvstore[instance_id] = instance
        log.info("r-kvstore %s created (Redis %s)", instance_id, engine_version)
        response = {
            "InstanceId": instance.id,
            "InstanceName": instance.name,
            "InstanceStatus": "Creating",
            "ConnectionDomain": instance.host,
            "Port": instance.port,
            "Capacity": instance.capacity,
            "Bandwidth": 96,
            "Connections": 10000,
            "QPS": 100000,
            "UserName": instance.id,
            "ChargeType": instance.charge_type,
            "NetworkType": instance.network_type,
            "NodeType": instance.node_type,
            "VpcId": instance.vpc_id,
            "VSwitchId": instance.vswitch_id,
            "ZoneId": instance.zone_id,
            "RegionId": instance.region_id,
            "PrivateIpAddr": "127.0.0.1",
            "OrderId": instance.order_id,
        }
        token.remember(response)
        return response

    def _attribute(self, instance: KvInstance) -> dict[str, Any]:
        return {
            "InstanceId": instance.id,
            "InstanceName": instance.name,
            "InstanceStatus": instance.status,
            "InstanceClass": instance.instance_class,
            "InstanceType": instance.instance_type,
            "EngineVersion": instance.engine_version,
            "ArchitectureType": "standard" if instance.shard_count == 1 else "cluster",
            "Capacity": instance.capacity,
            "Bandwidth": 96,
            "Connections": 10000,
            "QPS": 100000,
            "ConnectionDomain": instance.host,
            "Port": instance.port,
            "PrivateIp": "127.0.0.1",
            "NetworkType": instance.network_type,
            "VpcId": instance.vpc_id,
            "VSwitchId": instance.vswitch_id,
            "ZoneId": instance.zone_id,
            "RegionId": instance.region_id,
            "ChargeType": instance.charge_type,
            "NodeType": instance.node_type,
            "ShardCount": instance.shard_count,
            "SecurityIPList": ",".join(next((g.ips for g in instance.ip_groups if g.name == "default"), [])),
            "VpcAuthMode": "Open" if instance.password else "Close",
            "CreateTime": iso_time(instance.created),
            "InstanceReleaseProtection": False,
            "Tags": tag_json(instance.tags),
        }

    def describe_regions(self, p: Params, now: float) -> dict[str, Any]:
        """One ``KVStoreRegion`` for the emulator's region, its zones as a comma list and a list."""
        region, zones = self.region_zones()
        return {
            "RegionIds": {
                "KVStoreRegion": [
                    {
                        "RegionId": region,
                        "ZoneIds": ",".join(zones),
                        "ZoneIdList": {"ZoneId": zones},
                        "LocalName": region,
                        "RegionEndpoint": "r-kvstore.aliyuncs.com",
                    }
                ]
            }
        }

    def describe_instance_attribute(self, p: Params, now: float) -> dict[str, Any]:
        return {"Instances": {"DBInstanceAttribute": [self._attribute(self._instance(p))]}}

    def describe_instances(self, p: Params, now: float) -> dict[str, Any]:
        wanted_tags = p.tag_list()
        if len(wanted_tags) > 5:
            raise invalid_parameter("Tag", "At most 5 tags.")
        region = p.required("RegionId") if wanted_tags else p.optional("RegionId")
        ids = p.comma_list("InstanceIds", max_items=30)
        status = p.optional("InstanceStatus")
        search = p.optional("SearchKey")
        instance_type = p.optional("InstanceType")
        engine_version = p.optional("EngineVersion")
        page_size = p.integer("PageSize", 30, minimum=1, maximum=50)
        page_number = p.integer("PageNumber", 1, minimum=1, maximum=10**6)
        rows = [
            i
            for i in self._state.kvstore.values()
            if (region is None or i.region_id == region)
            and (not ids or i.id in ids)
            and (status is None or i.status == status)
            and (instance_type is None or i.instance_type == instance_type)
            and (engine_version is None or i.engine_version == engine_version)
            and (search is None or search in i.id or search in i.name)
            and all(i.tags.get(k) == v for k, v in wanted_tags)
        ]
        rows.sort(key=lambda i: (i.created, i.id))
        start = (page_number - 1) * page_size
        keys = (
            "InstanceId", "InstanceName", "InstanceStatus", "InstanceClass", "InstanceType", "EngineVersion",
            "ArchitectureType", "Capacity", "ConnectionDomain", "Port", "PrivateIp", "NetworkType", "VpcId",
            "VSwitchId", "ZoneId", "RegionId", "ChargeType", "NodeType", "ShardCount", "CreateTime", "Tags",
        )  # fmt: skip
        return {
            "Instances": {
                "KVStoreInstance": [
                    {k: self._attribute(i)[k] for k in keys} for i in rows[start : start + page_size]
                ]
            },
            "TotalCount": len(rows),
            "PageNumber": page_number,
            "PageSize": page_size,
        }

    def delete_instance(self, p: Params, now: float) -> dict[str, Any]:
        instance = self._ready(p)
        if instance.backed and self._redis is not None:
            self._redis.stop(instance.id)
        instance.status = "Released"
        instance.transition = Transition(due=now + self._config.delete_seconds, then=None)
        log.info("r-kvstore %s deleting", instance.id)
        return {}

    def modify_instance_spec(self, p: Params, now: float) -> dict[str, Any]:
        instance = self._instance(p)
        token = TokenScope(self._state, "r-kvstore", f"ModifyInstanceSpec:{instance.id}", p, "ClientToken")
        previous = token.previous()
        if previous is not None:
            return previous
        instance_class = p.required("InstanceClass")
        if not re.fullmatch(r"[a-z0-9]+(\.[a-z0-9]+)+", instance_class):
            raise invalid_parameter("InstanceClass")
        p.choice("EffectiveTime", ["Immediately", "MaintainTime"], "Immediately")
        p.choice("OrderType", ["UPGRADE", "DOWNGRADE"], "UPGRADE")
        if instance.status != "Normal":
            raise incorrect_state(instance.status)
        changes = {"instance_class": instance_class, "capacity": _capacity_of(instance_class)}
        instance.status = "Changing"
        instance.transition = Transition(
            due=now + self._config.modify_seconds, then="Normal", changes=changes
        )
        response = {"OrderId": new_order_id()}
        token.remember(response)
        return response

    # -- accounts ---------------------------------------------------------------------------

    def _check_accounts_supported(self, instance: KvInstance) -> None:
        if float(instance.engine_version) < 4.0 or instance.instance_type != "Redis":
            raise ApiError(
                "IncorrectEngineVersion",
                "Accounts are supported only on Redis 4.0 or later.",
                400,
            )

    def create_account(self, p: Params, now: float) -> dict[str, Any]:
        instance = self._ready(p)
        self._check_accounts_supported(instance)
        name = p.required("AccountName")
        check_kvstore_account_name(name)
        password = p.required("AccountPassword")
        check_password(password)
        privilege = p.choice("AccountPrivilege", ["RoleReadWrite", "RoleReadOnly"], "RoleReadWrite")
        p.choice("AccountType", ["Normal"], "Normal")
        description = p.text("AccountDescription", max_length=256)
        check_description("AccountDescription", description)
        if name in instance.accounts or name in _default_accounts(instance):
            raise ApiError("InvalidAccountName.Duplicate", "Specified account name already exists.")
        if len(instance.accounts) >= MAX_ACCOUNTS:
            raise ApiError("QuotaExceeded.Account", f"An instance can have at most {MAX_ACCOUNTS} accounts.")
        if instance.backed and self._redis is not None:
            self._redis.set_account(instance.id, name, password, privilege)
        instance.accounts[name] = KvAccount(name, privilege, description, now, password=password)
        return {"InstanceId": instance.id, "AcountName": name, "AccountName": name}

    def _custom_account(self, instance: KvInstance, p: Params) -> KvAccount:
        name = p.required("AccountName")
        if name in _default_accounts(instance):
            raise ApiError(
                "InvalidAccountName.Forbid", "The default account cannot be changed this way.", 403
            )
        account = instance.accounts.get(name)
        if account is None:
            raise ApiError("InvalidAccountName.NotFound", "Specified account does not exist.", 404)
        return account

    def delete_account(self, p: Params, now: float) -> dict[str, Any]:
        instance = self._ready(p)
        account = self._custom_account(instance, p)
        if instance.backed and self._redis is not None:
            self._redis.delete_account(instance.id, account.name)
        del instance.accounts[account.name]
        return {}

    def reset_account_password(self, p: Params, now: float) -> dict[str, Any]:
        instance = self._ready(p)
        name = p.required("AccountName")
        password = p.required("AccountPassword")
        check_password(password)
        if name in _default_accounts(instance):
            if instance.backed and self._redis is not None:
                for user in (instance.id, "default"):
                    self._redis.set_password(instance.id, user, password)
            instance.password = password
            return {}
        account = self._custom_account(instance, p)
        if instance.backed and self._redis is not None:
            self._redis.set_password(instance.id, account.name, password)
        account.password = password
        return {}

    def grant_account_privilege(self, p: Params, now: float) -> dict[str, Any]:
        instance = self._ready(p)
        account = self._custom_account(instance, p)
        privilege = p.choice("AccountPrivilege", ["RoleReadWrite", "RoleReadOnly"])
        if instance.backed and self._redis is not None:
            self._redis.set_account(instance.id, account.name, account.password, privilege)
        account.privilege = privilege
        return {}

    def describe_accounts(self, p: Params, now: float) -> dict[str, Any]:
        instance = self._instance(p)
        name = p.optional("AccountName")
        rows = [
            {"AccountName": n, "AccountType": "Super", "AccountDescription": "", "Privilege": "RoleReadWrite"}
            for n in _default_accounts(instance)
        ] + [
            {
                "AccountName": a.name,
                "AccountType": "Normal",
                "AccountDescription": a.description,
                "Privilege": a.privilege,
            }
            for a in instance.accounts.values()
        ]
        return {
            "Accounts": {
                "Account": [
                    {
                        "InstanceId": instance.id,
                        "AccountName": r["AccountName"],
                        "AccountStatus": "Available",
                        "AccountType": r["AccountType"],
                        "AccountDescription": r["AccountDescription"],
                        "DatabasePrivileges": {"DatabasePrivilege": [{"AccountPrivilege": r["Privilege"]}]},
                    }
                    for r in rows
                    if name is None or r["AccountName"] == name
                ]
            }
        }

    # -- network ----------------------------------------------------------------------------

    def modify_security_ips(self, p: Params, now: float) -> dict[str, Any]:
        instance = self._ready(p)
        ips = parse_security_ips(p.required("SecurityIps"), code="InvalidSecurityIps.Malformed")
        mode = p.choice("ModifyMode", MODES, "Cover")
        group = p.text("SecurityIpGroupName", "default", max_length=64)
        attribute = p.text("SecurityIpGroupAttribute", max_length=64)
        modify_ip_group(instance.ip_groups, group, ips, mode, attribute)
        return {}

    def describe_security_ips(self, p: Params, now: float) -> dict[str, Any]:
        instance = self._instance(p)
        return {
            "SecurityIpGroups": {
                "SecurityIpGroup": [
                    {
                        "SecurityIpGroupName": g.name,
                        "SecurityIpGroupAttribute": g.attribute,
                        "SecurityIpList": ",".join(g.ips),
                    }
                    for g in instance.ip_groups
                ]
            }
        }

    def modify_ssl(self, p: Params, now: float) -> dict[str, Any]:
        instance = self._ready(p)
        mode = p.choice("SSLEnabled", ["Enable", "Disable", "Update"])
        enabled = instance.ssl_enabled if mode == "Update" else mode == "Enable"
        instance.status = "SSLModifying"
        instance.transition = Transition(
            due=now + self._config.ssl_seconds, then="Normal", changes={"ssl_enabled": enabled}
        )
        return {"InstanceId": instance.id, "TaskId": new_task_id()}

    def describe_ssl(self, p: Params, now: float) -> dict[str, Any]:
        instance = self._instance(p)
        return {
            "InstanceId": instance.id,
            "SSLEnabled": "Enable" if instance.ssl_enabled else "Disable",
            "CertCommonName": instance.host if instance.ssl_enabled else "",
            "SSLExpiredTime": iso_time(instance.created + 365 * 86400) if instance.ssl_enabled else "",
        }
