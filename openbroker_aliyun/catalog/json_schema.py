"""Marshmallow parameter schemas published as JSON Schema draft-04.

A plan declares its parameters once, as a marshmallow schema. The catalog publishes the
draft-04 JSON Schema made here (platforms MUST support draft-04), and
``openbroker_aliyun.catalog.params`` checks requests against the same JSON Schema's
types before marshmallow loads them, so the published schema and the broker accept the
same JSON types.

What is published: the JSON type of each field, ``description``/``title`` from the
field's ``metadata``, ``default`` from ``load_default``, ``required``, and the validators
``Range``, ``Length``, ``OneOf``, ``NoneOf``, ``Equal`` and ``Regexp`` (also inside
``And``). Other validators (functions, ``validates_schema``) run in the broker only.
Field types with no faithful JSON form (``Decimal``, ``Tuple``, ``Pluck``, ``Method``,
...) raise ``UnsupportedSchema``, which catalog validation reports.

The converter is written here rather than taken from ``marshmallow-jsonschema``: that
library emits draft-07 with ``$ref`` definitions, ``enumNames`` and ``dump_default``
defaults, and fixing each of those afterwards is more code than this.
"""

from __future__ import annotations

import copy
import enum
import json
import math
import re
from functools import lru_cache
from typing import Any, Mapping

from jsonschema import Draft4Validator
from marshmallow import RAISE, Schema, fields, missing, validate

DRAFT_04 = "http://json-schema.org/draft-04/schema#"
#: OSB: a schema object in the catalog must not exceed 64 kB.
MAX_SCHEMA_BYTES = 64 * 1024


class UnsupportedSchema(TypeError):
    """A marshmallow schema that cannot be published faithfully as JSON Schema."""


def parameters_json_schema(schema: type[Schema], *, partial: bool = False) -> dict[str, Any]:
    """The draft-04 JSON Schema of a plan's marshmallow parameter schema.

    A flat, self-contained object schema (``$schema``, ``type: object``, ``properties``,
    ``required``, ``additionalProperties``; nested schemas inlined, no ``$ref``), checked
    with ``Draft4Validator.check_schema`` and against the 64 kB limit. ``partial=True``
    describes an update: nothing is required and no defaults are announced, as
    ``validate_parameters`` loads updates with ``partial=True``.

    Raises ``UnsupportedSchema`` for field types or validators with no JSON form.
    """
    return copy.deepcopy(_cached_schema(schema, partial))


def json_type_validator(schema: type[Schema], *, partial: bool = False) -> Draft4Validator:
    """A cached ``Draft4Validator`` of ``parameters_json_schema(schema, partial=...)``."""
    return _cached_validator(schema, partial)


@lru_cache(maxsize=256)
def _cached_schema(schema: type[Schema], partial: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"$schema": DRAFT_04}
    out.update(_object_schema(schema(), partial=partial, path=schema.__name__, unknown=None))
    Draft4Validator.check_schema(out)
    size = len(json.dumps(out, separators=(",", ":")).encode())
    if size > MAX_SCHEMA_BYTES:
        raise UnsupportedSchema(
            f"{schema.__name__}: the JSON Schema is {size} bytes; OSB allows at most {MAX_SCHEMA_BYTES}"
        )
    return out


@lru_cache(maxsize=256)
def _cached_validator(schema: type[Schema], partial: bool) -> Draft4Validator:
    return Draft4Validator(_cached_schema(schema, partial))


def _object_schema(instance: Schema, *, partial: bool, path: str, unknown: str | None) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    # load_fields leaves out dump_only fields, which marshmallow rejects on load.
    for name, field in instance.load_fields.items():
        key = field.data_key or name
        properties[key] = _field_schema(field, partial=partial, path=f"{path}.{name}")
        if field.required and not partial:
            required.append(key)
    out: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        out["required"] = required
    # EXCLUDE and INCLUDE accept unknown keys, so only RAISE forbids them.
    out["additionalProperties"] = (unknown or instance.unknown) != RAISE
    return out


def _field_schema(field: fields.Field, *, partial: bool, path: str) -> dict[str, Any]:
    out = _type_schema(field, partial=partial, path=path)
    for validator in _flat_validators(field.validators):
        _apply_validator(out, field, validator, path)
    description = field.metadata.get("description")
    if isinstance(description, str):
        out["description"] = description
    title = field.metadata.get("title")
    if isinstance(title, str):
        out["title"] = title
    if not partial and field.load_default is not missing and not callable(field.load_default):
        default = _published_default(field)
        if default is not missing:
            out["default"] = default
    if field.allow_none:
        _allow_null(out)
    elif "type" not in out and "enum" not in out:
        _forbid_null(out)  # a Raw field: any value but null
    return out


def _type_schema(field: fields.Field, *, partial: bool, path: str) -> dict[str, Any]:
    # Order matters: subclasses before their bases (Email before String, ...).
    if isinstance(field, fields.Enum):
        return _enum_schema(field, path)
    if isinstance(field, fields.Pluck):
        raise UnsupportedSchema(f"{path}: Pluck fields cannot be published as JSON Schema")
    if isinstance(field, fields.Nested):
        nested = field.schema
        obj = _object_schema(nested, partial=partial, path=path, unknown=field.unknown)
        return {"type": "array", "items": obj} if field.many else obj
    if isinstance(field, fields.List):
        return {"type": "array", "items": _field_schema(field.inner, partial=partial, path=f"{path}[]")}
    if isinstance(field, fields.Mapping):
        if field.key_field is not None and (
            field.key_field.validators or not isinstance(field.key_field, fields.String)
        ):
            # draft-04 has no propertyNames: key checks would be broker-only.
            raise UnsupportedSchema(f"{path}: Dict keys other than plain String cannot be published")
        out: dict[str, Any] = {"type": "object"}
        if field.value_field is not None:
            out["additionalProperties"] = _field_schema(
                field.value_field, partial=partial, path=f"{path}{{}}"
            )
        return out
    if isinstance(field, fields.Boolean):
        return {"type": "boolean"}
    if isinstance(field, fields.Integer):
        return {"type": "integer"}
    if isinstance(field, fields.Decimal):
        raise UnsupportedSchema(f"{path}: Decimal loads to a non-JSON value; use Float or Integer")
    if isinstance(field, fields.Number):
        return {"type": "number"}
    if isinstance(field, fields.Email):
        return {"type": "string", "format": "email"}
    if isinstance(field, fields.Url):
        return {"type": "string", "format": "uri"}
    if isinstance(field, fields.String):
        return {"type": "string"}
    if isinstance(field, fields.UUID):
        return {"type": "string", "format": "uuid"}
    if isinstance(field, fields.DateTime):
        return {"type": "string", "format": "date-time"}
    if isinstance(field, fields.Date):
        return {"type": "string", "format": "date"}
    if isinstance(field, fields.Time):
        return {"type": "string", "format": "time"}
    if type(field) is fields.Raw:
        return {}
    raise UnsupportedSchema(f"{path}: {type(field).__name__} fields cannot be published as JSON Schema")


def _enum_schema(field: fields.Enum, path: str) -> dict[str, Any]:
    by_name: Mapping[str, enum.Enum] = field.enum.__members__  # aliases load by name too
    if field.by_value is False:
        return {"type": "string", "enum": list(by_name)}
    values = [member.value for member in dict.fromkeys(by_name.values())]
    if not all(is_json_value(value) for value in values):
        raise UnsupportedSchema(f"{path}: enum values must be JSON values to be published")
    return {"enum": values}


def _flat_validators(validators: Any) -> list[Any]:
    flat: list[Any] = []
    for validator in validators:
        if isinstance(validator, validate.And):
            flat.extend(_flat_validators(validator.validators))
        else:
            flat.append(validator)
    return flat


def _apply_validator(out: dict[str, Any], field: fields.Field, validator: Any, path: str) -> None:
    if isinstance(validator, validate.Range):
        if not isinstance(field, fields.Number):
            raise UnsupportedSchema(f"{path}: Range is only published on number fields")
        if validator.min is not None:
            out["minimum"] = validator.min
            if not validator.min_inclusive:
                out["exclusiveMinimum"] = True
        if validator.max is not None:
            out["maximum"] = validator.max
            if not validator.max_inclusive:
                out["exclusiveMaximum"] = True
    elif isinstance(validator, validate.Length):
        _apply_length(out, field, validator, path)
    elif isinstance(validator, validate.OneOf):
        choices = list(validator.choices)
        if not all(is_json_value(choice) for choice in choices):
            raise UnsupportedSchema(f"{path}: OneOf choices must be JSON values to be published")
        out["enum"] = choices
    elif isinstance(validator, validate.NoneOf):
        iterable = list(validator.iterable)
        if not all(is_json_value(item) for item in iterable):
            raise UnsupportedSchema(f"{path}: NoneOf values must be JSON values to be published")
        out["not"] = {"enum": iterable}
    elif isinstance(validator, validate.Equal):
        if not is_json_value(validator.comparable):
            raise UnsupportedSchema(f"{path}: Equal value must be a JSON value to be published")
        out["enum"] = [validator.comparable]
    elif isinstance(validator, validate.Regexp):
        out["pattern"] = _published_pattern(validator, path)
    # Any other validator (a function, Predicate, ...) is enforced by the broker only.


def _apply_length(out: dict[str, Any], field: fields.Field, validator: validate.Length, path: str) -> None:
    if isinstance(field, (fields.String, fields.UUID)):
        low, high = "minLength", "maxLength"
    elif isinstance(field, fields.List) or (isinstance(field, fields.Nested) and field.many):
        low, high = "minItems", "maxItems"
    elif isinstance(field, fields.Mapping):
        low, high = "minProperties", "maxProperties"
    else:
        raise UnsupportedSchema(f"{path}: Length is only published on strings, lists and dicts")
    if validator.equal is not None:
        out[low] = out[high] = validator.equal
        return
    if validator.min is not None and validator.min > 0:
        out[low] = validator.min
    if validator.max is not None:
        out[high] = validator.max


def _published_pattern(validator: validate.Regexp, path: str) -> str:
    regex = validator.regex
    if not isinstance(regex.pattern, str):
        raise UnsupportedSchema(f"{path}: Regexp must be a str pattern")
    if regex.flags & ~re.UNICODE:
        raise UnsupportedSchema(f"{path}: Regexp flags cannot be published in JSON Schema")
    pattern = regex.pattern
    # marshmallow uses re.match (anchored at the start); JSON Schema searches anywhere.
    if pattern.startswith("^") and "|" not in pattern:
        return pattern
    return f"^(?:{pattern})"


def _published_default(field: fields.Field) -> Any:
    default = field.load_default
    if isinstance(default, enum.Enum) and isinstance(field, fields.Enum):
        default = field._serialize(default, None, None)
    # The round trip turns tuples into lists, as a platform will read them.
    return json.loads(json.dumps(default)) if is_json_value(default) else missing


def _allow_null(out: dict[str, Any]) -> None:
    kind = out.get("type")
    if isinstance(kind, str):
        out["type"] = [kind, "null"]
    if "enum" in out and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]


def _forbid_null(out: dict[str, Any]) -> None:
    not_null = {"type": "null"}
    if "not" in out:
        out["allOf"] = [{"not": not_null}]
    else:
        out["not"] = not_null


def is_json_value(value: Any) -> bool:
    """True for JSON values: None, bool, str, int, finite float, list/tuple, str-keyed dict."""
    if value is None or isinstance(value, (bool, str, int)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return all(is_json_value(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and is_json_value(item) for key, item in value.items())
    return False
