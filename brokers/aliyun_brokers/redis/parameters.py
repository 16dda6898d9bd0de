"""The Redis broker's plan parameters: one marshmallow schema per plan and operation.

Built from the plan's properties (its engine versions) and the operator's settings (the
zones users may choose), so what the catalog publishes as JSON Schema is exactly what the
broker enforces. docs/redis.md has the tables.

Provision: ``engine_version``, ``zone_id`` (only when the operator lets users choose),
``security_ips``, ``tls``. Update: ``security_ips``, ``tls``; ``engine_version`` is
accepted only to answer a change with a clear 422. Bind: ``read_only``.
"""

from __future__ import annotations

from typing import Any, Sequence

from marshmallow import Schema, fields

from aliyun_brokers.common.parameters import provision_fields, strict_schema, update_fields
from aliyun_brokers.redis.plans import RedisPlan

__all__ = ["bind_schema", "provision_schema", "update_schema"]


def provision_schema(plan_name: str, plan: RedisPlan, zones: Sequence[str]) -> type[Schema]:
    """The provision parameters of one plan; ``zones`` are the ones users may choose."""
    return strict_schema(
        f"RedisProvision_{plan_name}", provision_fields("Redis", plan.engine_versions, zones)
    )


def update_schema(plan_name: str) -> type[Schema]:
    """The update parameters (loaded partially: only the keys given)."""
    return strict_schema(f"RedisUpdate_{plan_name}", update_fields())


def bind_schema(plan_name: str) -> type[Schema]:
    """The bind parameters of a plan whose engine has accounts."""
    attrs: dict[str, Any] = {
        "read_only": fields.Boolean(
            load_default=False,
            metadata={
                "description": "Give the binding a read-only account (RoleReadOnly): "
                "reads work, writes are refused."
            },
        ),
    }
    return strict_schema(f"RedisBind_{plan_name}", attrs)
