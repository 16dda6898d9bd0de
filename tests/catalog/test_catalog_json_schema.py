"""parameters_json_schema: draft-04 output, and the same verdicts as validate_parameters."""

from __future__ import annotations

import enum
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft4Validator
from marshmallow import EXCLUDE, Schema, fields, validate

from openbroker_aliyun.catalog.json_schema import DRAFT_04, UnsupportedSchema, parameters_json_schema
from openbroker_aliyun.catalog.model import Plan, PlanSchemas
from openbroker_aliyun.catalog.params import validate_parameters
from openbroker_aliyun.errors import BadRequest


class Network(Schema):
    vpc_id = fields.String(required=True, validate=validate.Regexp(r"vpc-[a-z0-9]+$"))
    public = fields.Boolean(load_default=False)


class Edition(enum.Enum):
    basic = 1
    ha = 2


class Everything(Schema):
    storage_gb = fields.Integer(
        load_default=20,
        validate=validate.Range(min=20, max=6000),
        metadata={"description": "Storage in GiB", "title": "Storage"},
    )
    engine = fields.String(required=True, validate=validate.OneOf(["mysql", "postgresql"], labels=["M", "P"]))
    ratio = fields.Float(validate=validate.Range(min=0, max=1, min_inclusive=False, max_inclusive=False))
    name = fields.String(validate=validate.And(validate.Length(min=2, max=8), validate.Regexp("[a-z]+")))
    code = fields.String(validate=validate.Regexp(r"^a|b"))
    tags = fields.List(fields.String(validate=validate.Length(equal=2)), validate=validate.Length(max=3))
    labels = fields.Dict(keys=fields.String(), values=fields.Integer(validate=validate.Range(min=0)))
    network = fields.Nested(Network)
    replicas = fields.Nested(Network, many=True, validate=validate.Length(min=1))
    zone = fields.String(allow_none=True, validate=validate.OneOf(["a", "b"]))
    flavour = fields.String(validate=validate.NoneOf(["root", "admin"]))
    edition = fields.Enum(Edition, by_value=True)
    kind = fields.Enum(Edition)
    exact = fields.Integer(validate=validate.Equal(3))
    anything = fields.Raw()
    computed = fields.String(dump_only=True)
    renamed = fields.Integer(data_key="renamedKey")


def test_published_schema_is_flat_draft_04() -> None:
    schema = parameters_json_schema(Everything)
    Draft4Validator.check_schema(schema)
    assert schema["$schema"] == DRAFT_04
    assert schema["type"] == "object"
    assert schema["required"] == ["engine"]
    assert schema["additionalProperties"] is False
    text = json.dumps(schema)
    assert "$ref" not in text and "definitions" not in text and "enumNames" not in text
    props = schema["properties"]
    assert props["storage_gb"] == {
        "type": "integer",
        "minimum": 20,
        "maximum": 6000,
        "description": "Storage in GiB",
        "title": "Storage",
        "default": 20,
    }
    assert props["engine"] == {"type": "string", "enum": ["mysql", "postgresql"]}
    assert props["ratio"] == {
        "type": "number",
        "minimum": 0,
        "exclusiveMinimum": True,
        "maximum": 1,
        "exclusiveMaximum": True,
    }
    assert props["name"] == {"type": "string", "minLength": 2, "maxLength": 8, "pattern": "^(?:[a-z]+)"}
    assert props["code"]["pattern"] == "^(?:^a|b)"
    assert props["tags"] == {
        "type": "array",
        "items": {"type": "string", "minLength": 2, "maxLength": 2},
        "maxItems": 3,
    }
    assert props["labels"] == {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}
    assert props["network"] == {
        "type": "object",
        "properties": {
            "vpc_id": {"type": "string", "pattern": "^(?:vpc-[a-z0-9]+$)"},
            "public": {"type": "boolean", "default": False},
        },
        "required": ["vpc_id"],
        "additionalProperties": False,
    }
    assert props["replicas"]["type"] == "array"
    assert props["replicas"]["minItems"] == 1
    assert props["replicas"]["items"]["required"] == ["vpc_id"]
    assert props["zone"] == {"type": ["string", "null"], "enum": ["a", "b", None]}
    assert props["flavour"] == {"type": "string", "not": {"enum": ["root", "admin"]}}
    assert props["edition"] == {"enum": [1, 2]}
    assert props["kind"] == {"type": "string", "enum": ["basic", "ha"]}
    assert props["exact"] == {"type": "integer", "enum": [3]}
    assert props["anything"] == {"not": {"type": "null"}}
    assert "computed" not in props  # dump_only: not accepted on load
    assert "renamedKey" in props and "renamed" not in props


def test_partial_schema_requires_nothing_and_announces_no_defaults() -> None:
    schema = parameters_json_schema(Everything, partial=True)
    Draft4Validator.check_schema(schema)
    text = json.dumps(schema)
    assert '"required"' not in text
    assert '"default"' not in text


def test_unknown_exclude_allows_additional_properties() -> None:
    class Lenient(Schema):
        class Meta:
            unknown = EXCLUDE

        size = fields.Integer()

    class Outer(Schema):
        inner = fields.Nested(Lenient)
        strict_inner = fields.Nested(Lenient, unknown="raise")

    schema = parameters_json_schema(Outer)
    assert schema["additionalProperties"] is False
    assert schema["properties"]["inner"]["additionalProperties"] is True
    assert schema["properties"]["strict_inner"]["additionalProperties"] is False


def test_callable_and_non_json_defaults_are_not_published() -> None:
    import datetime as dt

    class Defaults(Schema):
        stamp = fields.DateTime(load_default=dt.datetime(2024, 1, 1))
        dynamic = fields.Integer(load_default=lambda: 3)
        tuple_default = fields.List(fields.String(), load_default=("a",))

    props = parameters_json_schema(Defaults)["properties"]
    assert "default" not in props["stamp"]
    assert "default" not in props["dynamic"]
    assert props["tuple_default"]["default"] == ["a"]


def test_returned_schema_is_a_copy() -> None:
    first = parameters_json_schema(Everything)
    first["properties"].clear()
    assert parameters_json_schema(Everything)["properties"]


@pytest.mark.parametrize(
    "field",
    [
        fields.Decimal(),
        fields.Tuple((fields.String(), fields.Integer())),
        fields.Method(deserialize="load_it"),
        fields.Pluck("Network", "vpc_id"),
        fields.TimeDelta(),
        fields.IP(),
        fields.Dict(keys=fields.String(validate=validate.Length(max=3))),
        fields.Integer(validate=validate.Length(max=3)),
        fields.String(validate=validate.Range(min=1)),
        fields.String(validate=validate.Regexp("a", flags=2)),  # re.IGNORECASE
        fields.String(validate=validate.OneOf([object()])),
    ],
    ids=lambda field: type(field).__name__,
)
def test_fields_without_a_faithful_json_form_are_refused(field: fields.Field) -> None:
    schema = Schema.from_dict({"value": field}, name="Odd")
    if isinstance(field, fields.Method):
        schema.load_it = lambda self, value: value  # type: ignore[attr-defined]
    with pytest.raises(UnsupportedSchema, match=r"Odd\.value"):
        parameters_json_schema(schema)


def test_schema_over_64_kb_is_refused() -> None:
    many = {f"field_{index}": fields.String(metadata={"description": "x" * 200}) for index in range(400)}
    with pytest.raises(UnsupportedSchema, match="at most 65536"):
        parameters_json_schema(Schema.from_dict(many, name="Huge"))


# ------------------------------------------ same verdicts: JSON Schema vs the broker


class Comparable(Schema):
    """Only what the JSON Schema expresses exactly (no formats, no custom validators)."""

    size = fields.Integer(required=True, validate=validate.Range(min=20, max=100))
    ratio = fields.Float(validate=validate.Range(min=0, max=1, max_inclusive=False))
    engine = fields.String(validate=validate.OneOf(["mysql", "postgresql"]))
    name = fields.String(validate=[validate.Length(min=2, max=4), validate.Regexp("[ab]+$")])
    code = fields.String(validate=validate.Regexp(r"^a|b"))
    flag = fields.Boolean()
    tags = fields.List(fields.String(validate=validate.Length(max=2)), validate=validate.Length(max=2))
    labels = fields.Dict(keys=fields.String(), values=fields.Integer(validate=validate.Range(max=5)))
    network = fields.Nested(Network)
    zone = fields.String(allow_none=True, validate=validate.OneOf(["a", "b"]))
    forbidden = fields.String(validate=validate.NoneOf(["root"]))
    kind = fields.Enum(Edition)
    anything = fields.Raw()
    maybe = fields.Raw(allow_none=True)
    not_root = fields.Raw(validate=validate.NoneOf(["root"]))


_KEYS = [*Comparable().load_fields, "unknown"]
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-10, max_value=150),
    st.floats(min_value=-2, max_value=2, allow_nan=False),
    st.sampled_from(
        ["", "a", "b", "ab", "ba", "aab", "abba", "abbab", "ca", "mysql", "root", "vpc-1", "basic", "ha"]
    ),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["vpc_id", "public", "x", "k"]), inner, max_size=3),
    ),
    max_leaves=6,
)


@pytest.mark.parametrize("operation", ["provision", "update"])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.dictionaries(st.sampled_from(_KEYS), _values, max_size=5))
def test_json_schema_and_broker_agree(operation: str, raw: dict[str, Any]) -> None:
    plan = Plan(
        id="0b4f3c2e-8d8a-4c6e-9a1b-7f6e5d4c3b2a",
        name="p",
        description="d",
        schemas=PlanSchemas(provision=Comparable, update=Comparable),
    )
    published = parameters_json_schema(Comparable, partial=operation == "update")
    schema_accepts = Draft4Validator(published).is_valid(raw)
    try:
        validate_parameters(plan, operation, raw)  # type: ignore[arg-type]
        broker_accepts = True
    except BadRequest:
        broker_accepts = False
    assert schema_accepts == broker_accepts, (raw, list(Draft4Validator(published).iter_errors(raw)))
