"""validate_parameters: defaults, partial updates, strict JSON types, readable 400s."""

from __future__ import annotations

import datetime as dt
import enum
import json
from typing import Any

import pytest
from marshmallow import (
    EXCLUDE,
    INCLUDE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from openbroker_aliyun.catalog.model import Plan, PlanSchemas
from openbroker_aliyun.catalog.params import validate_parameters
from openbroker_aliyun.errors import BadRequest


class Backup(Schema):
    retention_days = fields.Integer(required=True, validate=validate.Range(min=7, max=730))
    window = fields.String(load_default="02:00Z-03:00Z")


class Tier(enum.Enum):
    basic = "Basic"
    high_availability = "HighAvailability"


class Provision(Schema):
    storage_gb = fields.Integer(
        load_default=20,
        validate=validate.Range(min=20, max=6000),
        metadata={"description": "Storage in GiB"},
    )
    engine_version = fields.String(required=True, validate=validate.OneOf(["5.7", "8.0"]))
    ha = fields.Boolean(load_default=False)
    ratio = fields.Float(validate=validate.Range(min=0, max=1, min_inclusive=False))
    tags = fields.List(fields.String(validate=validate.Length(max=8)), validate=validate.Length(max=3))
    backup = fields.Nested(Backup)
    maintenance_start = fields.DateTime()
    tier = fields.Enum(Tier, load_default=Tier.basic)
    zone_id = fields.String(data_key="zoneId")


class Update(Schema):
    storage_gb = fields.Integer(validate=validate.Range(min=20, max=6000))
    ha = fields.Boolean()
    backup = fields.Nested(Backup)


class Bind(Schema):
    read_only = fields.Boolean(load_default=False)


def _plan(**schemas: type[Schema] | None) -> Plan:
    return Plan(
        id="5f0e8f1c-4a8e-4b3e-9b1e-0d2c3b4a5f60",
        name="basic",
        description="test plan",
        schemas=PlanSchemas(**schemas),
    )


PLAN = _plan(provision=Provision, update=Update, bind=Bind)


def _error(operation: str, raw: Any, plan: Plan = PLAN) -> str:
    with pytest.raises(BadRequest) as caught:
        validate_parameters(plan, operation, raw)  # type: ignore[arg-type]
    assert caught.value.status == 400
    return caught.value.description


# ------------------------------------------------------------------------- success


def test_provision_applies_defaults_and_returns_json_values() -> None:
    out = validate_parameters(
        PLAN, "provision", {"engine_version": "8.0", "maintenance_start": "2024-05-01T02:00:00Z"}
    )
    assert out == {
        "storage_gb": 20,
        "engine_version": "8.0",
        "ha": False,
        "maintenance_start": "2024-05-01T02:00:00+00:00",
        "tier": "basic",
    }
    json.dumps(out)  # no datetime or enum objects left


def test_nested_defaults_and_wire_names_are_kept() -> None:
    out = validate_parameters(
        PLAN,
        "provision",
        {
            "engine_version": "5.7",
            "backup": {"retention_days": 7},
            "zoneId": "cn-hangzhou-h",
            "tier": "high_availability",
        },
    )
    assert out["backup"] == {"retention_days": 7, "window": "02:00Z-03:00Z"}
    assert out["zoneId"] == "cn-hangzhou-h"
    assert out["tier"] == "high_availability"


def test_update_returns_only_the_given_keys_without_defaults() -> None:
    assert validate_parameters(PLAN, "update", {"storage_gb": 100}) == {"storage_gb": 100}
    assert validate_parameters(PLAN, "update", None) == {}
    assert validate_parameters(PLAN, "update", {}) == {}


def test_update_is_partial_in_nested_schemas_too() -> None:
    # marshmallow passes partial=True down, so nested defaults are not applied either.
    assert validate_parameters(PLAN, "update", {"backup": {}}) == {"backup": {}}
    assert validate_parameters(PLAN, "update", {"backup": {"retention_days": 30}}) == {
        "backup": {"retention_days": 30}
    }


def test_missing_parameters_mean_an_empty_object_with_defaults() -> None:
    assert validate_parameters(PLAN, "bind", None) == {"read_only": False}
    assert validate_parameters(PLAN, "bind", {"read_only": True}) == {"read_only": True}


def test_plan_without_schema_accepts_no_or_empty_parameters() -> None:
    plan = _plan()
    for operation in ("provision", "update", "bind"):
        assert validate_parameters(plan, operation, None) == {}  # type: ignore[arg-type]
        assert validate_parameters(plan, operation, {}) == {}  # type: ignore[arg-type]


def test_schema_unknown_setting_is_respected() -> None:
    class Lenient(Schema):
        class Meta:
            unknown = EXCLUDE

        size = fields.Integer()

    class PassThrough(Schema):
        class Meta:
            unknown = INCLUDE

        size = fields.Integer()

    assert validate_parameters(_plan(provision=Lenient), "provision", {"size": 1, "extra": 2}) == {"size": 1}
    assert validate_parameters(_plan(provision=PassThrough), "provision", {"size": 1, "extra": [2]}) == {
        "size": 1,
        "extra": [2],
    }


def test_load_only_fields_come_back() -> None:
    class WithLoadOnly(Schema):
        admin_note = fields.String(load_only=True)

    assert validate_parameters(_plan(provision=WithLoadOnly), "provision", {"admin_note": "x"}) == {
        "admin_note": "x"
    }


# -------------------------------------------------------------------------- errors


def test_out_of_range_message_names_field_and_rule() -> None:
    description = _error("provision", {"engine_version": "8.0", "storage_gb": 5})
    assert description == (
        "Invalid parameters: storage_gb: Must be greater than or equal to 20 and less than or equal to 6000."
    )


def test_unknown_keys_are_rejected_and_named() -> None:
    assert _error("bind", {"read_only": True, "sudo": True}) == "Invalid parameters: sudo: Unknown field."
    assert _error("update", {"engine_version": "8.0"}) == "Invalid parameters: engine_version: Unknown field."


def test_no_schema_and_parameters_given() -> None:
    plan = _plan(provision=Provision)
    assert _error("bind", {"x": 1}, plan) == "This plan takes no parameters for bind."
    assert _error("update", {"x": 1}, plan) == "This plan takes no parameters for update."


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"engine_version": "8.0", "storage_gb": "100"}, "storage_gb: Not a valid integer."),
        ({"engine_version": "8.0", "storage_gb": 100.0}, "storage_gb: Not a valid integer."),
        ({"engine_version": "8.0", "storage_gb": True}, "storage_gb: Not a valid integer."),
        ({"engine_version": "8.0", "ha": "yes"}, "ha: Not a valid boolean."),
        ({"engine_version": "8.0", "ha": 1}, "ha: Not a valid boolean."),
        ({"engine_version": 8}, "engine_version: Not a valid string."),
        ({"engine_version": "8.0", "ratio": "0.5"}, "ratio: Not a valid number."),
        ({"engine_version": "8.0", "tags": "a,b"}, "tags: Not a valid list."),
        ({"engine_version": "8.0", "backup": [7]}, "backup: Not a valid object."),
        ({"engine_version": "8.0", "storage_gb": None}, "storage_gb: Field may not be null."),
    ],
)
def test_json_types_are_strict(raw: dict[str, Any], expected: str) -> None:
    # marshmallow alone would coerce "100" and "yes"; the published JSON Schema does not.
    assert _error("provision", raw) == f"Invalid parameters: {expected}"


def test_every_problem_is_listed_in_a_stable_order() -> None:
    raw = {
        "tags": ["ok", "far-too-long-tag", 3],
        "backup": {},
        "ratio": 0,
        "zz_unknown": 1,
        "storage_gb": 7000,
    }
    description = _error("provision", raw)
    assert description == (
        "Invalid parameters: "
        "backup.retention_days: Missing data for required field. "
        "engine_version: Missing data for required field. "
        "ratio: Must be greater than 0 and less than or equal to 1. "
        "storage_gb: Must be greater than or equal to 20 and less than or equal to 6000. "
        "tags[1]: Longer than maximum length 8. "
        "tags[2]: Not a valid string. "
        "zz_unknown: Unknown field."
    )
    assert _error("provision", dict(reversed(list(raw.items())))) == description


def test_list_length_is_checked_once_the_items_are_valid() -> None:
    description = _error("provision", {"engine_version": "8.0", "tags": ["a", "b", "c", "d"]})
    assert description == "Invalid parameters: tags: Longer than maximum length 3."


def test_enum_error_lists_choices_not_the_value() -> None:
    description = _error("provision", {"engine_version": "9.9-secretish"})
    assert description == "Invalid parameters: engine_version: Must be one of: 5.7, 8.0."
    assert "secretish" not in description


def test_values_echoed_by_custom_validators_are_not_repeated() -> None:
    def no_weak_passwords(value: str) -> None:
        if value.startswith("hunter"):
            raise ValidationError(f"{value} is a weak password")

    class WithPassword(Schema):
        admin_password = fields.String(validate=no_weak_passwords)

    description = _error("provision", {"admin_password": "hunter2-Secret"}, _plan(provision=WithPassword))
    assert "hunter2-Secret" not in description
    assert description == "Invalid parameters: admin_password: Invalid value."


def test_hostile_unknown_keys_are_shortened_and_made_printable() -> None:
    description = _error("bind", {"x" * 500 + "\n": 1})
    assert description == f"Invalid parameters: {'x' * 64}...: Unknown field."


def test_schema_level_errors_have_no_field_prefix() -> None:
    class Pair(Schema):
        low = fields.Integer()
        high = fields.Integer()

        @validates_schema
        def _ordered(self, data: dict[str, Any], **_: Any) -> None:
            if data.get("low", 0) > data.get("high", 0):
                raise ValidationError("low must not exceed high")

    description = _error("provision", {"low": 5, "high": 1}, _plan(provision=Pair))
    assert description == "Invalid parameters: low must not exceed high."


def test_parameters_must_be_an_object() -> None:
    assert _error("provision", ["engine_version"]) == "Invalid parameters: parameters must be a JSON object."


def test_unknown_operation_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="operation"):
        validate_parameters(PLAN, "deprovision", {})  # type: ignore[arg-type]


def test_schema_loading_non_json_values_is_reported_as_a_bug() -> None:
    class Timestamped(Schema):
        size = fields.Integer()

        @post_load
        def _stamp(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
            data["size"] = dt.date(2024, 1, 1)  # not what Integer serialises: a broken schema
            return data

    with pytest.raises((TypeError, ValueError)):
        validate_parameters(_plan(provision=Timestamped), "provision", {"size": 1})
