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

from marshmallow import RAISE, Schema, fields, validate

from aliyun_brokers.redis.network_parameters import security_ips_field, tls_field, zone_field
from aliyun_brokers.redis.plans import RedisPlan

__all__ = ["bind_schema", "provision_schema", "update_schema"]


def provision_schema(plan_name: str, plan: RedisPlan, zones: Sequence[str]) -> type[Schema]:
    """The provision parameters of one plan; ``zones`` are the ones users may choose."""
    attrs: dict[str, Any] = {
        "engine_version": fields.String(
            validate=validate.OneOf(list(plan.engine_versions)),
            load_default=plan.default_version,
            metadata={"description": "Redis major version. Cannot be changed later."},
        ),
        # The loaded list is serialised again by the framework, so sharing it is harmless.
        "security_ips": security_ips_field(load_default=[]),
        "tls": tls_field(load_default=False),
    }
    if zones:
        attrs["zone_id"] = zone_field(zones)
    return _schema(f"RedisProvision_{plan_name}", attrs)


def update_schema(plan_name: str) -> type[Schema]:
    """The update parameters (loaded partially: only the keys given)."""
    attrs: dict[str, Any] = {
        "security_ips": security_ips_field(),
        "tls": tls_field(),
        "engine_version": fields.String(
            metadata={
                "description": "Engine version changes are not supported; sending another version is refused."
            }
        ),
    }
    return _schema(f"RedisUpdate_{plan_name}", attrs)


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
    return _schema(f"RedisBind_{plan_name}", attrs)


def _schema(name: str, attrs: dict[str, Any]) -> type[Schema]:
    class Meta:
        unknown = RAISE

    return type(name, (Schema,), {"Meta": Meta, **attrs})
