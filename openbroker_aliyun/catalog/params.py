"""Plan parameters: checked against the plan's schema, with OSB errors people can read.

The engine calls ``validate_parameters`` before anything is recorded, so a bad request
is a 400 and never a state change. Checking is two-layered, for one reason: marshmallow
coerces (``"20"`` loads as ``20``, ``"yes"`` as ``True``) while the JSON Schema published
in the catalog does not, so the JSON types are checked against the published schema
first and marshmallow does the rest (ranges, enums, custom validators, defaults).
"""

from __future__ import annotations

import json
from typing import Any, Literal, Mapping

from marshmallow import Schema, ValidationError, missing

from openbroker_aliyun.catalog.json_schema import json_type_validator, parameters_json_schema
from openbroker_aliyun.catalog.model import Plan
from openbroker_aliyun.errors import BadRequest

__all__ = ["Operation", "parameters_json_schema", "validate_parameters"]

Operation = Literal["provision", "update", "bind"]

_OPERATIONS = ("provision", "update", "bind")
_JSON_TYPE_NAMES = {
    "integer": "integer",
    "number": "number",
    "string": "string",
    "boolean": "boolean",
    "array": "list",
    "object": "object",
}
# Unknown keys are named in errors; keep a hostile key from flooding the message.
_MAX_KEY_CHARS = 64
# A rejected string this long that shows up in a message is replaced: it may be a secret.
_MIN_SECRET_CHARS = 6

_Path = tuple[str | int, ...]


def validate_parameters(plan: Plan, operation: Operation, raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate and load the ``parameters`` of a provision, update or bind request.

    ``raw`` (the request's ``parameters``; ``None`` when absent) is loaded with the plan's
    schema for ``operation``. Provision and bind get the schema's defaults; update loads
    with ``partial=True`` and returns only the keys given. Unknown keys are rejected unless
    the schema's ``Meta.unknown`` says otherwise. Returns JSON values keyed by their wire
    names (``data_key``).

    Raises ``BadRequest`` naming every bad field and why, in a stable order, never quoting
    the rejected value; and when the plan takes no parameters for ``operation`` but some
    were given.
    """
    if operation not in _OPERATIONS:
        raise ValueError(f"operation must be one of {_OPERATIONS}, not {operation!r}")
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise BadRequest("Invalid parameters: parameters must be a JSON object.")
    schema_class: type[Schema] | None = getattr(plan.schemas, operation)
    if schema_class is None:
        if raw:
            raise BadRequest(f"This plan takes no parameters for {operation}.")
        return {}

    partial = operation == "update"
    errors = _type_errors(schema_class, partial, raw)
    schema = schema_class()
    loaded: Any = None
    try:
        loaded = schema.load(raw, partial=partial)
    except ValidationError as error:
        for path, message in _flatten(error.messages, ()):
            # A JSON type error says more than what marshmallow made of the wrong type.
            errors.setdefault(path, message)
    if errors:
        raise BadRequest("Invalid parameters: " + " ".join(_describe(errors, raw)))
    return _dump(schema, loaded)


def _type_errors(schema_class: type[Schema], partial: bool, raw: Mapping[str, Any]) -> dict[_Path, str]:
    validator = json_type_validator(schema_class, partial=partial)
    errors: dict[_Path, str] = {}
    for error in validator.iter_errors(dict(raw)):
        if error.validator != "type":
            continue  # marshmallow reports the others in its own words
        path = tuple(error.absolute_path)
        if error.instance is None:
            errors[path] = "Field may not be null."  # marshmallow's words, for consistency
            continue
        expected = error.validator_value
        kinds = [expected] if isinstance(expected, str) else list(expected)
        names = [_JSON_TYPE_NAMES.get(kind, kind) for kind in kinds if kind != "null"]
        errors[path] = f"Not a valid {' or '.join(names)}."
    return errors


def _flatten(messages: Any, path: _Path) -> list[tuple[_Path, str]]:
    """marshmallow's nested error dict as (path, message) pairs."""
    if isinstance(messages, dict):
        out: list[tuple[_Path, str]] = []
        for key, value in messages.items():
            part: tuple[str | int, ...] = () if key == "_schema" else (key,)
            out.extend(_flatten(value, path + part))
        return out
    if isinstance(messages, list) and all(isinstance(item, str) for item in messages):
        return [(path, " ".join(messages))]
    if isinstance(messages, list):
        return [pair for item in messages for pair in _flatten(item, path)]
    return [(path, str(messages))]


def _describe(errors: Mapping[_Path, str], raw: Mapping[str, Any]) -> list[str]:
    lines = []
    for path, message in errors.items():
        value = _value_at(raw, path)
        if isinstance(value, str) and len(value) >= _MIN_SECRET_CHARS and value in message:
            message = "Invalid value."
        if not message.endswith((".", "!", "?")):
            message += "."
        rendered = _render_path(path)
        lines.append(f"{rendered}: {message}" if rendered else message)
    return sorted(lines)


def _render_path(path: _Path) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = "".join(ch if ch.isprintable() else "?" for ch in str(part))
            if len(text) > _MAX_KEY_CHARS:
                text = text[:_MAX_KEY_CHARS] + "..."
            out += f".{text}" if out else text
    return out


def _value_at(raw: Any, path: _Path) -> Any:
    value = raw
    for part in path:
        in_mapping = isinstance(value, Mapping) and part in value
        in_list = isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value)
        if not (in_mapping or in_list):
            return None
        value = value[part]
    return value


def _dump(schema: Schema, loaded: Any) -> dict[str, Any]:
    """The loaded values as JSON, through each field's serialiser (datetime -> str, ...)."""
    out: dict[str, Any] = {}
    known: set[str] = set()
    for name, field in schema.load_fields.items():
        known.add(name)
        if isinstance(loaded, Mapping) and name not in loaded:
            continue  # not given (update) and no default
        value = field.serialize(name, loaded)
        if value is not missing:
            out[field.data_key or name] = value
    if isinstance(loaded, Mapping):
        # unknown = INCLUDE passes extra keys through as they came (already JSON).
        out.update({key: value for key, value in loaded.items() if key not in known})
    try:
        json.dumps(out)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{type(schema).__name__} loads values that are not JSON: {error}") from None
    return out
