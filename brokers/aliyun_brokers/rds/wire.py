"""The RDS (2014-08-15) actions the broker calls, typed: a request and an answer per action.

RDS's field names are declared here (see ``aliyun_brokers.common.wire`` for the
conventions); the actions R-kvstore spells alike but for the instance id subclass their
shared declaration (``shared.DeleteAccount``) and name the id. Attributes are the
snake_case of the wire names, except ``instance_id`` (``DBInstanceId``) and a describe
item's ``status``, which the shared code reads for every product. An answer declares only
what the broker reads; the actions whose answer it does not read answer a bare
``WireResponse``. Every action of ``cloud.RDS_ACTIONS`` has its request here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from aliyun_brokers.common import wire as shared
from aliyun_brokers.common.wire import Tag, WireRequest, WireResponse, wire

__all__ = [
    "CreateAccount",
    "CreateDBInstance",
    "CreateDBInstanceResponse",
    "CreateDatabase",
    "DBInstance",
    "DBInstanceAttribute",
    "DBInstanceNetInfo",
    "DeleteAccount",
    "DeleteDBInstance",
    "DescribeDBInstanceAttribute",
    "DescribeDBInstanceAttributeResponse",
    "DescribeDBInstanceNetInfo",
    "DescribeDBInstanceNetInfoResponse",
    "DescribeDBInstanceSSL",
    "DescribeDBInstanceSSLResponse",
    "DescribeDBInstances",
    "DescribeDBInstancesResponse",
    "GrantAccountPrivilege",
    "ModifyDBInstanceSSL",
    "ModifyDBInstanceSpec",
    "ModifySecurityIps",
    "ResetAccountPassword",
]

# -- instances -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CreateDBInstance(WireRequest):
    action: ClassVar[str] = "CreateDBInstance"
    engine: str = wire("Engine")
    engine_version: str = wire("EngineVersion")
    db_instance_class: str = wire("DBInstanceClass")
    db_instance_storage: int = wire("DBInstanceStorage")
    db_instance_storage_type: str = wire("DBInstanceStorageType")
    category: str = wire("Category")
    pay_type: str = wire("PayType")
    db_instance_net_type: str = wire("DBInstanceNetType")
    instance_network_type: str = wire("InstanceNetworkType")
    vpc_id: str = wire("VPCId")  # sic: "VPCId" here, "VpcId" in answers
    vswitch_id: str = wire("VSwitchId")
    zone_id: str = wire("ZoneId")
    security_ip_list: str = wire("SecurityIPList")  # comma-separated
    db_instance_description: str = wire("DBInstanceDescription")
    client_token: str = wire("ClientToken")
    tag: tuple[Tag, ...] = wire("Tag")


@dataclass(frozen=True, kw_only=True)
class CreateDBInstanceResponse(WireResponse):
    instance_id: str = wire("DBInstanceId")
    connection_string: str | None = wire("ConnectionString", default=None)
    port: str | None = wire("Port", default=None)


@dataclass(frozen=True, kw_only=True)
class DescribeDBInstances(WireRequest):
    """By ids (a comma-separated list of at most 100) or by tags (a JSON object)."""

    action: ClassVar[str] = "DescribeDBInstances"
    instance_ids: str | None = wire("DBInstanceId", default=None)
    tags: str | None = wire("Tags", default=None)
    page_size: int = wire("PageSize")
    page_number: int | None = wire("PageNumber", default=None)


@dataclass(frozen=True, kw_only=True)
class DBInstance:
    """One item of a DescribeDBInstances answer."""

    instance_id: str = wire("DBInstanceId")
    status: str = wire("DBInstanceStatus")
    db_instance_class: str | None = wire("DBInstanceClass", default=None)
    lock_mode: str | None = wire("LockMode", default=None)

    @property
    def tags(self) -> None:
        """The listing carries no tags (its ``Tags`` filter selects by them)."""
        return None


@dataclass(frozen=True, kw_only=True)
class DescribeDBInstancesResponse(WireResponse):
    items: tuple[DBInstance, ...] = wire("Items.DBInstance", default=())


@dataclass(frozen=True, kw_only=True)
class DescribeDBInstanceAttribute(WireRequest):
    action: ClassVar[str] = "DescribeDBInstanceAttribute"
    instance_id: str = wire("DBInstanceId")


@dataclass(frozen=True, kw_only=True)
class DBInstanceAttribute:
    """One item of a DescribeDBInstanceAttribute answer."""

    instance_id: str = wire("DBInstanceId")
    status: str = wire("DBInstanceStatus")
    db_instance_storage: int | None = wire("DBInstanceStorage", default=None)  # GB


@dataclass(frozen=True, kw_only=True)
class DescribeDBInstanceAttributeResponse(WireResponse):
    items: tuple[DBInstanceAttribute, ...] = wire("Items.DBInstanceAttribute", default=())


@dataclass(frozen=True, kw_only=True)
class ModifyDBInstanceSpec(WireRequest):
    action: ClassVar[str] = "ModifyDBInstanceSpec"
    instance_id: str = wire("DBInstanceId")
    db_instance_class: str = wire("DBInstanceClass")
    db_instance_storage: int = wire("DBInstanceStorage")
    pay_type: str = wire("PayType")
    effective_time: str = wire("EffectiveTime")
    category: str | None = wire("Category", default=None)


@dataclass(frozen=True, kw_only=True)
class DeleteDBInstance(WireRequest):
    action: ClassVar[str] = "DeleteDBInstance"
    instance_id: str = wire("DBInstanceId")


# -- network and TLS ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class DescribeDBInstanceNetInfo(WireRequest):
    action: ClassVar[str] = "DescribeDBInstanceNetInfo"
    instance_id: str = wire("DBInstanceId")


@dataclass(frozen=True, kw_only=True)
class DBInstanceNetInfo:
    """One endpoint of a DescribeDBInstanceNetInfo answer."""

    connection_string: str | None = wire("ConnectionString", default=None)
    ip_type: str | None = wire("IPType", default=None)  # Private/Public (VPC), Inner/Public (classic)
    port: str | None = wire("Port", default=None)


@dataclass(frozen=True, kw_only=True)
class DescribeDBInstanceNetInfoResponse(WireResponse):
    net_infos: tuple[DBInstanceNetInfo, ...] = wire("DBInstanceNetInfos.DBInstanceNetInfo", default=())

    def private_endpoint(self) -> tuple[str, int] | None:
        """The private (VPC) connection string and port, else the classic inner one, else any."""
        rank = {"Private": 0, "Inner": 1}
        ranked = sorted(self.net_infos, key=lambda info: rank.get(info.ip_type or "", 2))
        for info in ranked:
            if info.connection_string and info.port:
                return info.connection_string, int(info.port)
        return None


@dataclass(frozen=True, kw_only=True)
class ModifySecurityIps(shared.ModifySecurityIps):
    instance_id: str = wire("DBInstanceId")


@dataclass(frozen=True, kw_only=True)
class ModifyDBInstanceSSL(WireRequest):
    action: ClassVar[str] = "ModifyDBInstanceSSL"
    instance_id: str = wire("DBInstanceId")
    connection_string: str = wire("ConnectionString")
    ssl_enabled: int = wire("SSLEnabled")  # 1 or 0


@dataclass(frozen=True, kw_only=True)
class DescribeDBInstanceSSL(WireRequest):
    action: ClassVar[str] = "DescribeDBInstanceSSL"
    instance_id: str = wire("DBInstanceId")


@dataclass(frozen=True, kw_only=True)
class DescribeDBInstanceSSLResponse(WireResponse):
    ssl_enabled: str | None = wire("SSLEnabled", default=None)

    @property
    def enabled(self) -> bool:
        """Whether TLS is on (MySQL says Yes/No, PostgreSQL on/off)."""
        return (self.ssl_enabled or "").lower() in ("yes", "on", "1", "true", "enable", "enabled")


# -- accounts and databases ----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CreateAccount(WireRequest):
    action: ClassVar[str] = "CreateAccount"
    instance_id: str = wire("DBInstanceId")
    account_name: str = wire("AccountName")
    account_password: str = wire("AccountPassword", secret=True)
    account_type: str = wire("AccountType")  # Normal or Super
    account_description: str = wire("AccountDescription")


@dataclass(frozen=True, kw_only=True)
class ResetAccountPassword(shared.ResetAccountPassword):
    instance_id: str = wire("DBInstanceId")


@dataclass(frozen=True, kw_only=True)
class DeleteAccount(shared.DeleteAccount):
    instance_id: str = wire("DBInstanceId")


@dataclass(frozen=True, kw_only=True)
class GrantAccountPrivilege(WireRequest):
    action: ClassVar[str] = "GrantAccountPrivilege"
    instance_id: str = wire("DBInstanceId")
    account_name: str = wire("AccountName")
    db_name: str = wire("DBName")
    account_privilege: str = wire("AccountPrivilege")


@dataclass(frozen=True, kw_only=True)
class CreateDatabase(WireRequest):
    action: ClassVar[str] = "CreateDatabase"
    instance_id: str = wire("DBInstanceId")
    db_name: str = wire("DBName")
    character_set_name: str = wire("CharacterSetName")
    db_description: str = wire("DBDescription")
