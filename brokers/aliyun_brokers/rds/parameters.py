"""The RDS broker's plan parameters: one marshmallow schema per plan and operation.

Schemas are built from the plan's properties (allowed engine versions, storage range)
and the operator's settings (zones users may choose), so that what the catalog publishes
as JSON Schema is exactly what the broker enforces. docs/rds.md has the table.

Provision: ``database_name``, ``engine_version``, ``storage_gb``, ``zone_id`` (only when
the operator lets users choose), ``security_ips``, ``tls``.
Update: ``storage_gb`` (only upward), ``security_ips``, ``tls``; ``engine_version`` is
accepted only to answer a change with a clear 422. Bind takes no parameters.
"""

from __future__ import annotations

from typing import Any, Sequence

from marshmallow import Schema, ValidationError, fields, validate

from aliyun_brokers.common.parameters import provision_fields, strict_schema, update_fields
from aliyun_brokers.rds.plans import RdsPlan

__all__ = ["provision_schema", "update_schema"]

# Names RDS or the engines keep for themselves.
_RESERVED_DATABASES = (
    "mysql",
    "information_schema",
    "performance_schema",
    "sys",
    "test",
    "postgres",
    "template0",
    "template1",
)


def _multiple_of_five(value: int) -> None:
    if value % 5:
        raise ValidationError("Must be a multiple of 5 (Alibaba sizes storage in steps of 5 GB).")


def _database_name(engine: str) -> fields.String:
    # PostgreSQL: the broker names the shared owner role after the database, and
    # PostgreSQL reserves role names starting with "pg".
    no_pg = "(?!pg)" if engine == "PostgreSQL" else ""
    rule = (
        "Must start with a lower-case letter, end with a letter or digit, "
        "and contain only lower-case letters, digits, '_' and '-'"
    )
    checks: list[Any] = [
        validate.Length(min=2, max=48),
        validate.Regexp(
            rf"^{no_pg}[a-z][a-z0-9_-]*[a-z0-9]$",
            error=rule + ("; must not start with 'pg' on PostgreSQL." if no_pg else "."),
        ),
        validate.NoneOf(_RESERVED_DATABASES, error="This name is reserved."),
    ]
    return fields.String(
        validate=checks,
        metadata={
            "description": "Name of the database created in the instance "
            "(default: a name derived from the instance id). Cannot be changed later."
        },
    )


def provision_schema(plan_name: str, plan: RdsPlan, zones: Sequence[str]) -> type[Schema]:
    """The provision parameters of one plan; ``zones`` are the ones users may choose."""
    attrs: dict[str, Any] = {
        "database_name": _database_name(plan.engine),
        "storage_gb": fields.Integer(
            strict=True,
            validate=[validate.Range(min=plan.storage_gb, max=plan.max_storage_gb), _multiple_of_five],
            load_default=plan.storage_gb,
            metadata={"description": "Storage in GB, a multiple of 5. Can only grow later."},
        ),
        **provision_fields(plan.engine, plan.engine_versions, zones),
    }
    return strict_schema(f"RdsProvision_{plan_name}", attrs)


def update_schema(plan_name: str, plan: RdsPlan) -> type[Schema]:
    """The update parameters of one plan (loaded partially: only the keys given)."""
    attrs: dict[str, Any] = {
        "storage_gb": fields.Integer(
            strict=True,
            validate=[validate.Range(min=5, max=plan.max_storage_gb), _multiple_of_five],
            metadata={"description": "New storage in GB, a multiple of 5, not below the current size."},
        ),
        **update_fields(),
    }
    return strict_schema(f"RdsUpdate_{plan_name}", attrs)
