"""The R-kvstore (2015-01-01) actions the broker calls, typed: a request and an answer per action.

R-kvstore's field names are declared here (see ``aliyun_brokers.common.wire`` for the
conventions); the actions RDS spells alike but for the instance id subclass their shared
declaration (``shared.DeleteAccount``) and name the id. Attributes are the snake_case of
the wire names, except a describe item's ``status`` (``InstanceStatus``), which the shared
code reads for every product. An answer declares only what the broker reads; the actions
whose answer it does not read answer a bare ``WireResponse``. Every action of
``cloud.KVSTORE_ACTIONS`` has its request here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Mapping

from aliyun_brokers.common import wire as shared
from aliyun_brokers.common.wire import Tag, WireRequest, WireResponse, wire

__all__ = [
    "CreateAccount",
    "CreateInstance",
    "CreateInstanceResponse",
    "DeleteAccount",
    "DeleteInstance",
    "DescribeInstanceSSL",
    "DescribeInstanceSSLResponse",
    "DescribeInstances",
    "DescribeInstancesResponse",
    "GrantAccountPrivilege",
    "KVStoreInstance",
    "ModifyInstanceSSL",
    "ModifyInstanceSpec",
    "ModifySecurityIps",
    "ResetAccountPassword",
]

# -- instances -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CreateInstance(WireRequest):
    """Sized by ``instance_class``, or by ``capacity`` (MB) alone."""

    action: ClassVar[str] = "CreateInstance"
    instance_class: str | None = wire("InstanceClass", default=None)
    capacity: int | None = wire("Capacity", default=None)
    shard_count: int | None = wire("ShardCount", default=None)
    instance_type: str = wire("InstanceType")
    engine_version: str = wire("EngineVersion")
    node_type: str = wire("NodeType")
    charge_type: str = wire("ChargeType")
    network_type: str = wire("NetworkType")
    vpc_id: str = wire("VpcId")
    vswitch_id: str = wire("VSwitchId")
    zone_id: str = wire("ZoneId")
    password: str = wire("Password", secret=True)
    instance_name: str = wire("InstanceName")
    token: str = wire("Token")  # R-kvstore's idempotency token (not ClientToken)
    tag: tuple[Tag, ...] = wire("Tag")


@dataclass(frozen=True, kw_only=True)
class CreateInstanceResponse(WireResponse):
    instance_id: str = wire("InstanceId")
    connection_domain: str | None = wire("ConnectionDomain", default=None)
    port: int | None = wire("Port", default=None)


@dataclass(frozen=True, kw_only=True)
class DescribeInstances(WireRequest):
    """By ids (a comma-separated list of at most 30) or by tags."""

    action: ClassVar[str] = "DescribeInstances"
    instance_ids: str | None = wire("InstanceIds", default=None)
    tag: tuple[Tag, ...] | None = wire("Tag", default=None)
    page_size: int = wire("PageSize")
    page_number: int | None = wire("PageNumber", default=None)


@dataclass(frozen=True, kw_only=True)
class KVStoreInstance:
    """One item of a DescribeInstances answer."""

    instance_id: str = wire("InstanceId")
    status: str = wire("InstanceStatus")
    instance_class: str | None = wire("InstanceClass", default=None)
    engine_version: str | None = wire("EngineVersion", default=None)
    connection_domain: str | None = wire("ConnectionDomain", default=None)
    port: int | None = wire("Port", default=None)
    shard_count: int | None = wire("ShardCount", default=None)
    tag_list: tuple[Tag, ...] | None = wire("Tags.Tag", default=None)

    @property
    def tags(self) -> Mapping[str, str] | None:
        return None if self.tag_list is None else {tag.key: tag.value for tag in self.tag_list}


@dataclass(frozen=True, kw_only=True)
class DescribeInstancesResponse(WireResponse):
    items: tuple[KVStoreInstance, ...] = wire("Instances.KVStoreInstance", default=())


@dataclass(frozen=True, kw_only=True)
class ModifyInstanceSpec(WireRequest):
    action: ClassVar[str] = "ModifyInstanceSpec"
    instance_id: str = wire("InstanceId")
    instance_class: str | None = wire("InstanceClass", default=None)
    effective_time: str = wire("EffectiveTime")
    client_token: str = wire("ClientToken")
    shard_count: int | None = wire("ShardCount", default=None)


@dataclass(frozen=True, kw_only=True)
class DeleteInstance(WireRequest):
    action: ClassVar[str] = "DeleteInstance"
    instance_id: str = wire("InstanceId")


# -- network and TLS ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ModifySecurityIps(shared.ModifySecurityIps):
    instance_id: str = wire("InstanceId")


@dataclass(frozen=True, kw_only=True)
class ModifyInstanceSSL(WireRequest):
    action: ClassVar[str] = "ModifyInstanceSSL"
    instance_id: str = wire("InstanceId")
    ssl_enabled: str = wire("SSLEnabled")  # Enable or Disable


@dataclass(frozen=True, kw_only=True)
class DescribeInstanceSSL(WireRequest):
    action: ClassVar[str] = "DescribeInstanceSSL"
    instance_id: str = wire("InstanceId")


@dataclass(frozen=True, kw_only=True)
class DescribeInstanceSSLResponse(WireResponse):
    ssl_enabled: str | None = wire("SSLEnabled", default=None)

    @property
    def enabled(self) -> bool:
        """Whether TLS is on."""
        return (self.ssl_enabled or "").lower() in ("enable", "enabled", "true", "yes", "on")


# -- accounts -----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CreateAccount(WireRequest):
    action: ClassVar[str] = "CreateAccount"
    instance_id: str = wire("InstanceId")
    account_name: str = wire("AccountName")
    account_password: str = wire("AccountPassword", secret=True)
    account_privilege: str = wire("AccountPrivilege")  # RoleReadWrite or RoleReadOnly
    account_type: str = wire("AccountType")
    account_description: str = wire("AccountDescription")


@dataclass(frozen=True, kw_only=True)
class GrantAccountPrivilege(WireRequest):
    action: ClassVar[str] = "GrantAccountPrivilege"
    instance_id: str = wire("InstanceId")
    account_name: str = wire("AccountName")
    account_privilege: str = wire("AccountPrivilege")


@dataclass(frozen=True, kw_only=True)
class ResetAccountPassword(shared.ResetAccountPassword):
    instance_id: str = wire("InstanceId")


@dataclass(frozen=True, kw_only=True)
class DeleteAccount(shared.DeleteAccount):
    instance_id: str = wire("InstanceId")
