"""The emulated cloud's state: RDS and R-kvstore instances, their accounts, databases, tags.

Transitions (``Creating`` → ``Running`` ...) are stored as a ``Transition`` with the wall-clock
time it completes, and applied lazily when the state is next read (``settle``): no threads.
Everything here is plain data that round-trips through JSON for the state file.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Transition:
    """An operation in progress: at ``due`` the status becomes ``then`` (None: the instance is gone)."""

    due: float
    then: str | None
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass
class IpGroup:
    name: str
    ips: list[str]
    attribute: str = ""


@dataclass
class RdsAccount:
    name: str
    type: str  # Normal | Super
    description: str
    created: float
    privileges: dict[str, str] = field(default_factory=dict)  # database -> ReadWrite/ReadOnly/...


@dataclass
class RdsDatabase:
    name: str
    charset: str
    description: str
    created: float


@dataclass
class RdsInstance:
    id: str
    region_id: str
    engine: str
    engine_version: str
    instance_class: str
    storage: int
    storage_type: str
    category: str
    pay_type: str
    net_type: str
    network_type: str
    vpc_id: str
    vswitch_id: str
    zone_id: str
    description: str
    deletion_protection: bool
    resource_group_id: str
    order_id: str
    created: float
    status: str
    host: str
    port: int
    backend: str | None  # "mysql" / "postgres" when real resources back it
    transition: Transition | None = None
    accounts: dict[str, RdsAccount] = field(default_factory=dict)
    databases: dict[str, RdsDatabase] = field(default_factory=dict)
    ip_groups: list[IpGroup] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    ssl_enabled: bool = False
    ssl_previous: bool = False
    ssl_effective_at: float = 0.0

    def ssl_on(self, now: float) -> bool:
        return self.ssl_enabled if now >= self.ssl_effective_at else self.ssl_previous


@dataclass
class KvAccount:
    name: str
    privilege: str  # RoleReadWrite | RoleReadOnly
    description: str
    created: float
    # Kept so that a backing redis-server can be rebuilt after an emulator restart.
    password: str = field(default="", repr=False)


@dataclass
class KvInstance:
    id: str
    region_id: str
    name: str
    instance_class: str
    capacity: int
    engine_version: str
    instance_type: str
    node_type: str
    network_type: str
    vpc_id: str
    vswitch_id: str
    zone_id: str
    charge_type: str
    shard_count: int
    order_id: str
    created: float
    status: str
    host: str
    port: int
    backed: bool
    password: str = field(default="", repr=False)
    transition: Transition | None = None
    accounts: dict[str, KvAccount] = field(default_factory=dict)
    ip_groups: list[IpGroup] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    ssl_enabled: bool = False


@dataclass
class TokenRecord:
    """What an idempotency token (ClientToken / Token) was first used for."""

    fingerprint: str
    response: dict[str, Any]


@dataclass
class CloudState:
    rds: dict[str, RdsInstance] = field(default_factory=dict)
    kvstore: dict[str, KvInstance] = field(default_factory=dict)
    tokens: dict[str, TokenRecord] = field(default_factory=dict)  # "<product>:<action>:<token>"

    def to_json(self) -> dict[str, Any]:
        return {"version": 1, **dataclasses.asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CloudState:
        return cls(
            rds={k: _rds_from(v) for k, v in data.get("rds", {}).items()},
            kvstore={k: _kv_from(v) for k, v in data.get("kvstore", {}).items()},
            tokens={k: TokenRecord(**v) for k, v in data.get("tokens", {}).items()},
        )


def _transition_from(data: dict[str, Any] | None) -> Transition | None:
    return Transition(**data) if data else None


def _rds_from(data: dict[str, Any]) -> RdsInstance:
    values = dict(data)
    values["transition"] = _transition_from(values.get("transition"))
    values["accounts"] = {k: RdsAccount(**v) for k, v in values.get("accounts", {}).items()}
    values["databases"] = {k: RdsDatabase(**v) for k, v in values.get("databases", {}).items()}
    values["ip_groups"] = [IpGroup(**g) for g in values.get("ip_groups", [])]
    return RdsInstance(**values)


def _kv_from(data: dict[str, Any]) -> KvInstance:
    values = dict(data)
    values["transition"] = _transition_from(values.get("transition"))
    values["accounts"] = {k: KvAccount(**v) for k, v in values.get("accounts", {}).items()}
    values["ip_groups"] = [IpGroup(**g) for g in values.get("ip_groups", [])]
    return KvInstance(**values)


def settle_transition(instance: RdsInstance | KvInstance, now: float) -> bool | None:
    """Apply a due transition. Returns None if the instance is now gone, True if it changed."""
    transition = instance.transition
    if transition is None or now < transition.due:
        return False
    if transition.then is None:
        return None
    for name, value in transition.changes.items():
        setattr(instance, name, value)
    instance.status = transition.then
    instance.transition = None
    return True
