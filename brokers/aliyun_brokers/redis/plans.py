"""A Redis plan's private properties (the ``properties`` section of catalog.yaml), typed.

Checked strictly when the catalog loads, so an operator's typo in a replaced catalog file
stops the broker at start-up with the plan and key named, instead of failing provisions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from aliyun_brokers.common.catalog import plan_properties
from openbroker_aliyun.catalog.model import Plan

__all__ = [
    "ACCOUNTS_SINCE",
    "ACL_AUTH_SINCE",
    "RedisPlan",
    "has_accounts",
    "has_acl_auth",
    "parse_properties",
]

Architecture = Literal["standard", "cluster"]
NodeType = Literal["MASTER_SLAVE", "STAND_ALONE"]

#: Redis accounts (``CreateAccount``) exist from this engine version on.
ACCOUNTS_SINCE = (4, 0)
#: ``AUTH user password`` (two arguments) works from this version on; before it, Alibaba
#: takes a custom account as ``AUTH user:password``.
ACL_AUTH_SINCE = (6, 0)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def has_accounts(engine_version: str) -> bool:
    """Whether instances of this Redis version can have per-binding accounts."""
    return _version(engine_version) >= ACCOUNTS_SINCE


def has_acl_auth(engine_version: str) -> bool:
    """Whether clients may authenticate as ``AUTH user password`` (Redis 6.0 and later)."""
    return _version(engine_version) >= ACL_AUTH_SINCE


@dataclass(frozen=True)
class RedisPlan:
    """What CreateInstance / ModifyInstanceSpec need from a plan.

    Exactly one of ``instance_class`` and ``capacity_mb`` is set; ``shard_count`` only
    for the cluster architecture.
    """

    engine_versions: tuple[str, ...]
    instance_class: str | None
    capacity_mb: int | None
    architecture: Architecture
    node_type: NodeType
    shard_count: int | None

    @property
    def default_version(self) -> str:
        return self.engine_versions[0]

    @property
    def accounts(self) -> bool:
        """Whether every engine version of the plan has accounts (the plan is bindable)."""
        return all(has_accounts(version) for version in self.engine_versions)


class _PlanProperties(Schema):
    class Meta:
        unknown = RAISE

    engine_versions = fields.List(
        fields.String(validate=validate.Regexp(r"^\d+\.\d+$", error="Must look like 7.0.")),
        required=True,
        validate=validate.Length(min=1),
    )
    instance_class = fields.String(validate=validate.Length(min=1))
    capacity_mb = fields.Integer(strict=True, validate=validate.Range(min=128))
    architecture = fields.String(required=True, validate=validate.OneOf(["standard", "cluster"]))
    node_type = fields.String(
        load_default="MASTER_SLAVE", validate=validate.OneOf(["MASTER_SLAVE", "STAND_ALONE"])
    )
    shard_count = fields.Integer(strict=True, validate=validate.Range(min=2, max=256))

    @validates_schema
    def _consistent(self, data: dict[str, Any], **_: Any) -> None:
        if ("instance_class" in data) == ("capacity_mb" in data):
            raise ValidationError("give exactly one of instance_class and capacity_mb")
        if (data["architecture"] == "cluster") != ("shard_count" in data):
            raise ValidationError("shard_count is required for the cluster architecture, and only for it")
        versions = [has_accounts(version) for version in data["engine_versions"]]
        if any(versions) and not all(versions):
            raise ValidationError(
                "engine_versions mixes versions with accounts (4.0 and later) and without: "
                "split them into two plans (the older one not bindable)"
            )


def parse_properties(plan: Plan, path: str) -> RedisPlan:
    """The typed properties of ``plan``, or ``CatalogError`` naming ``path`` and the keys."""
    data = plan_properties(_PlanProperties(), plan, path)
    return RedisPlan(
        engine_versions=tuple(data["engine_versions"]),
        instance_class=data.get("instance_class"),
        capacity_mb=data.get("capacity_mb"),
        architecture=data["architecture"],
        node_type=data["node_type"],
        shard_count=data.get("shard_count"),
    )
