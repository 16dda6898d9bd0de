"""A marshmallow parameter schema made from a plan's JSON Schema.

openbrokerapi plans carry their parameter schemas as JSON Schema dicts and enforce
nothing (openbrokerapi issue #44). Our catalog holds marshmallow schemas, which the
engine enforces and ``openbroker_aliyun.catalog.json_schema`` publishes. This module
goes the other way, so an adapted broker's schemas are both published and enforced.

It converts the part of JSON Schema that parameter schemas use: an object with
``properties``, ``required`` and ``additionalProperties``; property ``type`` (one type,
optionally with ``"null"``), ``enum``/``const``, ``minimum``/``maximum`` (draft-04
boolean or later numeric ``exclusive*``), ``minLength``/``maxLength``, ``pattern``,
``minItems``/``maxItems``, ``items``, nested ``properties``, ``default``,
``description``, ``title`` and ``format``. Anything else (``oneOf``, ``$ref``,
``allOf``, ...) raises ``UnsupportedJsonSchema`` naming where, rather than being
silently not enforced.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Literal, Mapping

from marshmallow import INCLUDE, RAISE, Schema, fields, validate

_ANNOTATIONS = {"description", "title", "default", "format", "$schema", "id", "$id", "examples"}
_PROPERTY_KEYWORDS = _ANNOTATIONS | {
    "type",
    "enum",
    "const",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "items",
    "properties",
    "required",
    "additionalProperties",
}
_SIMPLE_FIELDS: dict[str, type[fields.Field]] = {
    "string": fields.String,
    "integer": fields.Integer,
    "number": fields.Float,
    "boolean": fields.Boolean,
}


class UnsupportedJsonSchema(ValueError):
    """The JSON Schema uses a construct this converter cannot enforce faithfully."""


def schema_from_json_schema(json_schema: Mapping[str, Any], name: str) -> type[Schema]:
    """A marshmallow ``Schema`` class that accepts what ``json_schema`` (an object) accepts.

    ``additionalProperties: false`` rejects unknown keys; when absent or true they are
    kept, as JSON Schema allows them. One deliberate difference: ``format: email`` and
    ``format: uri`` are enforced (JSON Schema validators may treat formats as notes).
    """
    if not isinstance(json_schema, Mapping):
        raise UnsupportedJsonSchema(f"{name}: a parameters schema must be a JSON object")
    kind = json_schema.get("type", "object")
    if kind != "object":
        raise UnsupportedJsonSchema(f"{name}: parameters must be described as type 'object', not {kind!r}")
    return _object_schema(json_schema, name)


def _object_schema(node: Mapping[str, Any], path: str) -> type[Schema]:
    _check_keywords(node, path)
    properties = node.get("properties") or {}
    required = node.get("required") or []
    if not isinstance(properties, Mapping) or not isinstance(required, list):
        raise UnsupportedJsonSchema(f"{path}: 'properties' must be an object and 'required' a list")
    attrs: dict[str, Any] = {"Meta": type("Meta", (), {"unknown": _unknown(node, path)})}
    for index, (key, sub) in enumerate(properties.items()):
        # The wire name goes in data_key; the attribute only has to be unique and valid.
        attrs[f"p{index}"] = _field(sub, f"{path}.{key}", data_key=key, required=key in required)
    missing_required = [key for key in required if key not in properties]
    if missing_required:
        raise UnsupportedJsonSchema(f"{path}: required keys without a property schema: {missing_required}")
    return type(re.sub(r"\W", "_", path) or "Parameters", (Schema,), attrs)


def _unknown(node: Mapping[str, Any], path: str) -> Literal["include", "raise"]:
    extra = node.get("additionalProperties", True)
    if not isinstance(extra, bool):
        raise UnsupportedJsonSchema(
            f"{path}: only a boolean 'additionalProperties' is supported on an object"
        )
    return INCLUDE if extra else RAISE


def _field(node: Any, path: str, *, data_key: str | None = None, required: bool = False) -> fields.Field:
    if not isinstance(node, Mapping):
        raise UnsupportedJsonSchema(f"{path}: a property schema must be a JSON object")
    _check_keywords(node, path)
    kind, nullable = _type_of(node, path)
    kwargs: dict[str, Any] = {"required": required, "allow_none": nullable}
    if data_key is not None:
        kwargs["data_key"] = data_key
    if "default" in node:
        kwargs["load_default"] = copy.deepcopy(node["default"])
    metadata = {key: node[key] for key in ("description", "title") if isinstance(node.get(key), str)}
    if metadata:
        kwargs["metadata"] = metadata
    kwargs["validate"] = _validators(node, kind, path)

    if kind == "object":
        if "properties" in node:
            return fields.Nested(_object_schema(node, path), unknown=_unknown(node, path), **kwargs)
        extra = node.get("additionalProperties", True)
        values = _field(extra, f"{path}{{}}") if isinstance(extra, Mapping) else None
        if extra is False:
            raise UnsupportedJsonSchema(f"{path}: an object without properties that allows no keys")
        return fields.Dict(keys=fields.String(), values=values, **kwargs)
    if kind == "array":
        items = node.get("items")
        inner = _field(items, f"{path}[]") if isinstance(items, Mapping) else fields.Raw(allow_none=True)
        return fields.List(inner, **kwargs)
    if kind == "string" and node.get("format") == "email":
        return fields.Email(**kwargs)
    if kind == "string" and node.get("format") == "uri":
        return fields.Url(**kwargs)
    if kind is None:
        return fields.Raw(**kwargs)
    return _SIMPLE_FIELDS[kind](**kwargs)


def _type_of(node: Mapping[str, Any], path: str) -> tuple[str | None, bool]:
    kind = node.get("type")
    if kind is None:
        if "properties" in node:
            return "object", False
        if "enum" in node or "const" in node:
            return None, False
        raise UnsupportedJsonSchema(f"{path}: a property needs a 'type'")
    kinds = [kind] if isinstance(kind, str) else list(kind) if isinstance(kind, list) else []
    nullable = "null" in kinds
    rest = [k for k in kinds if k != "null"]
    if len(rest) != 1 or rest[0] not in (*_SIMPLE_FIELDS, "array", "object"):
        raise UnsupportedJsonSchema(
            f"{path}: unsupported type {kind!r} (one JSON type, optionally with null)"
        )
    return rest[0], nullable


def _validators(node: Mapping[str, Any], kind: str | None, path: str) -> list[validate.Validator]:
    out: list[validate.Validator] = []
    if "enum" in node:
        if not isinstance(node["enum"], list):
            raise UnsupportedJsonSchema(f"{path}: 'enum' must be a list")
        out.append(validate.OneOf(node["enum"]))
    if "const" in node:
        out.append(validate.Equal(node["const"]))
    if (
        "minimum" in node
        or "maximum" in node
        or _is_number(node.get("exclusiveMinimum"))
        or _is_number(node.get("exclusiveMaximum"))
    ):
        if kind not in ("integer", "number"):
            raise UnsupportedJsonSchema(f"{path}: minimum/maximum on a non-number")
        out.append(_range(node))
    length_keys = ("minLength", "maxLength") if kind == "string" else ("minItems", "maxItems")
    if any(key in node for key in length_keys):
        out.append(validate.Length(min=node.get(length_keys[0]), max=node.get(length_keys[1])))
    if "pattern" in node:
        pattern = node["pattern"]
        if kind != "string" or not isinstance(pattern, str):
            raise UnsupportedJsonSchema(f"{path}: 'pattern' must be a string on a string property")
        # marshmallow anchors at the start (re.match); JSON Schema searches anywhere.
        out.append(validate.Regexp(pattern if pattern.startswith("^") else rf"[\s\S]*?(?:{pattern})"))
    return out


def _range(node: Mapping[str, Any]) -> validate.Range:
    low, high = node.get("minimum"), node.get("maximum")
    low_inclusive = high_inclusive = True
    exclusive_min, exclusive_max = node.get("exclusiveMinimum"), node.get("exclusiveMaximum")
    if exclusive_min is True:  # draft-04: a flag on minimum
        low_inclusive = False
    elif _is_number(exclusive_min):  # draft-06 and later: the bound itself
        low, low_inclusive = exclusive_min, False
    if exclusive_max is True:
        high_inclusive = False
    elif _is_number(exclusive_max):
        high, high_inclusive = exclusive_max, False
    return validate.Range(min=low, max=high, min_inclusive=low_inclusive, max_inclusive=high_inclusive)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_keywords(node: Mapping[str, Any], path: str) -> None:
    unknown = sorted(key for key in node if key not in _PROPERTY_KEYWORDS and not key.startswith("x-"))
    if unknown:
        raise UnsupportedJsonSchema(f"{path}: unsupported JSON Schema keywords {unknown}")
