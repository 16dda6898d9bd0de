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

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from aliyun_brokers.common.settings import parse_security_ip
from aliyun_brokers.rds.plans import RdsPlan

__all__ = ["MAX_SECURITY_IPS", "provision_schema", "update_schema"]

#: Alibaba allows 1000 whitelist entries per instance; the operator's share comes first.
MAX_SECURITY_IPS = 100
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


def _security_ip(value: str) -> None:
    try:
        parse_security_ip(value)
    except ValueError:
        raise ValidationError("Must be an IPv4 or IPv6 address or a CIDR block.") from None


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


def _security_ips(**default: Any) -> fields.List:
    return fields.List(
        fields.String(validate=_security_ip),
        validate=validate.Length(max=MAX_SECURITY_IPS),
        **default,
        metadata={
            "description": "Extra addresses or CIDR blocks allowed to connect, "
            "added to the operator's list (whole-internet blocks only where the operator allows them)."
        },
    )


def _tls(**default: Any) -> fields.Boolean:
    return fields.Boolean(
        **default,
        metadata={"description": "Turn on TLS for client connections (credentials then ask for TLS)."},
    )


def provision_schema(plan_name: str, plan: RdsPlan, zones: Sequence[str]) -> type[Schema]:
    """The provision parameters of one plan; ``zones`` are the ones users may choose."""
    attrs: dict[str, Any] = {
        "database_name": _database_name(plan.engine),
        "engine_version": fields.String(
            validate=validate.OneOf(list(plan.engine_versions)),
            load_default=plan.default_version,
            metadata={"description": f"{plan.engine} major version. Cannot be changed later."},
        ),
        "storage_gb": fields.Integer(
            strict=True,
            validate=[validate.Range(min=plan.storage_gb, max=plan.max_storage_gb), _multiple_of_five],
            load_default=plan.storage_gb,
            metadata={"description": "Storage in GB, a multiple of 5. Can only grow later."},
        ),
        # The loaded list is serialised again by the framework, so sharing it is harmless.
        "security_ips": _security_ips(load_default=[]),
        "tls": _tls(load_default=False),
    }
    if zones:
        attrs["zone_id"] = fields.String(
            validate=validate.OneOf(list(zones)),
            metadata={
                "description": "Alibaba Cloud zone to create the instance in (default: the operator's)."
            },
        )
    return _schema(f"RdsProvision_{plan_name}", attrs)


def update_schema(plan_name: str, plan: RdsPlan) -> type[Schema]:
    """The update parameters of one plan (loaded partially: only the keys given)."""
    attrs: dict[str, Any] = {
        "storage_gb": fields.Integer(
            strict=True,
            validate=[validate.Range(min=5, max=plan.max_storage_gb), _multiple_of_five],
            metadata={"description": "New storage in GB, a multiple of 5, not below the current size."},
        ),
        "security_ips": _security_ips(),
        "tls": _tls(),
        "engine_version": fields.String(
            metadata={
                "description": "Engine version changes are not supported; sending another version is refused."
            }
        ),
    }
    return _schema(f"RdsUpdate_{plan_name}", attrs)


def _schema(name: str, attrs: dict[str, Any]) -> type[Schema]:
    class Meta:
        unknown = RAISE

    return type(name, (Schema,), {"Meta": Meta, **attrs})
