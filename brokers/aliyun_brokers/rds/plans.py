"""An RDS plan's private properties (the ``properties`` section of catalog.yaml), typed.

Checked strictly when the catalog loads, so an operator's typo in a replaced catalog file
stops the broker at start-up with the plan and key named, instead of failing provisions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from aliyun_brokers.common.catalog import plan_properties
from openbroker_aliyun.catalog.model import Plan

__all__ = ["EngineName", "RdsPlan", "rds_plan"]

EngineName = Literal["MySQL", "PostgreSQL"]
ENGINES: tuple[EngineName, ...] = ("MySQL", "PostgreSQL")


@dataclass(frozen=True)
class RdsPlan:
    """What CreateDBInstance / ModifyDBInstanceSpec need from a plan."""

    engine: EngineName
    engine_versions: tuple[str, ...]
    instance_class: str
    category: str
    storage_type: str
    storage_gb: int
    max_storage_gb: int

    @property
    def default_version(self) -> str:
        return self.engine_versions[0]


class _PlanProperties(Schema):
    class Meta:
        unknown = RAISE

    engine = fields.String(required=True, validate=validate.OneOf(ENGINES))
    engine_versions = fields.List(
        fields.String(validate=validate.Regexp(r"^\d+(\.\d+)?$")),
        required=True,
        validate=validate.Length(min=1),
    )
    instance_class = fields.String(required=True, validate=validate.Length(min=1))
    category = fields.String(required=True, validate=validate.Length(min=1))
    storage_type = fields.String(required=True, validate=validate.Length(min=1))
    # Alibaba sizes storage in steps of 5 GB.
    storage_gb = fields.Integer(strict=True, required=True, validate=validate.Range(min=5))
    max_storage_gb = fields.Integer(strict=True, required=True, validate=validate.Range(min=5))

    @validates_schema
    def _bounds(self, data: dict[str, Any], **_: Any) -> None:
        if data["storage_gb"] % 5 or data["max_storage_gb"] % 5:
            raise ValidationError("storage_gb and max_storage_gb must be multiples of 5")
        if data["max_storage_gb"] < data["storage_gb"]:
            raise ValidationError("max_storage_gb must not be below storage_gb")


def parse_properties(plan: Plan, path: str) -> RdsPlan:
    """The typed properties of ``plan``, or ``CatalogError`` naming ``path`` and the keys."""
    data = plan_properties(_PlanProperties(), plan, path)
    return RdsPlan(
        engine=data["engine"],
        engine_versions=tuple(data["engine_versions"]),
        instance_class=data["instance_class"],
        category=data["category"],
        storage_type=data["storage_type"],
        storage_gb=data["storage_gb"],
        max_storage_gb=data["max_storage_gb"],
    )


def rds_plan(plan: Plan) -> RdsPlan:
    """The typed properties of a plan of this broker's catalog (already checked at load)."""
    return parse_properties(plan, plan.name)
