"""Wire schemas: OSB request bodies and query strings in, domain requests out.

Shape only: required fields, types, the ``accepts_incomplete`` flag. Unknown fields are
dropped, never rejected (vendor extensions, OSB G7); ``null`` means absent. Whether a
service, plan or parameter is acceptable is the engine's decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from openbroker_aliyun.domain import (
    BindRequest,
    Context,
    DeprovisionRequest,
    FetchBindingRequest,
    FetchInstanceRequest,
    LastOperationRequest,
    ProvisionRequest,
    RequestInfo,
    UnbindRequest,
    UpdateRequest,
)
from openbroker_aliyun.errors import BadRequest


def _required_id() -> fields.String:
    return fields.String(required=True, validate=validate.Length(min=1))


def _optional_str() -> fields.String:
    return fields.String(load_default=None, allow_none=True)


def _optional_object() -> fields.Dict:
    return fields.Dict(keys=fields.String(), load_default=None, allow_none=True)


class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE


class MaintenanceInfoSchema(_Lenient):
    version = fields.String(required=True)


class ProvisionBody(_Lenient):
    service_id = _required_id()
    plan_id = _required_id()
    context = _optional_object()
    # Deprecated but still "required" by the spec; optional here because not every
    # platform sends them (Korifi sends neither context nor these).
    organization_guid = _optional_str()
    space_guid = _optional_str()
    parameters = _optional_object()
    maintenance_info = fields.Nested(MaintenanceInfoSchema, load_default=None, allow_none=True)


class UpdateBody(_Lenient):
    service_id = _required_id()
    plan_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1))
    context = _optional_object()
    parameters = _optional_object()
    previous_values = _optional_object()
    maintenance_info = fields.Nested(MaintenanceInfoSchema, load_default=None, allow_none=True)


class BindBody(_Lenient):
    service_id = _required_id()
    plan_id = _required_id()
    context = _optional_object()
    app_guid = _optional_str()
    bind_resource = _optional_object()
    parameters = _optional_object()
    predecessor_binding_id = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(min=1)
    )


def _flag() -> fields.Boolean:
    # Lower case is the spec; the capitalised forms are what some HTTP clients send.
    return fields.Boolean(
        truthy={"true", "True", "TRUE"},
        falsy={"false", "False", "FALSE"},
        load_default=False,
        error_messages={"invalid": "Must be 'true' or 'false'."},
    )


class AsyncQuery(_Lenient):
    accepts_incomplete = _flag()


class DeleteQuery(AsyncQuery):
    service_id = _required_id()
    plan_id = _required_id()


class FetchQuery(_Lenient):
    service_id = _optional_str()
    plan_id = _optional_str()


class LastOperationQuery(FetchQuery):
    operation = _optional_str()


def _describe(messages: Any, prefix: str = "") -> list[str]:
    """Flatten marshmallow's nested error messages into ``field: message`` lines."""
    if isinstance(messages, Mapping):
        out: list[str] = []
        for key, value in messages.items():
            out.extend(_describe(value, f"{prefix}{key}." if key != "_schema" else prefix))
        return out
    if isinstance(messages, list | tuple) and all(isinstance(m, str) for m in messages):
        return [f"{prefix.rstrip('.') or 'body'}: {' '.join(messages)}"]
    if isinstance(messages, list | tuple):
        return [line for item in messages for line in _describe(item, prefix)]
    return [f"{prefix.rstrip('.') or 'body'}: {messages}"]


# One instance per schema: building one costs more than loading with it, and loading
# changes nothing in the instance, so threads share them.
_INSTANCES: dict[type[Schema], Schema] = {}
# What an empty input loads to (its defaults), per schema that accepts one: the common
# query string of a poll is empty.
_EMPTY_LOADS: dict[type[Schema], dict[str, Any]] = {}


def load(schema: type[Schema], data: Mapping[str, Any] | None, where: str) -> dict[str, Any]:
    """Load ``data`` with ``schema``; a shape error is a 400 naming every bad field."""
    if not data:
        empty = _EMPTY_LOADS.get(schema)
        if empty is not None:
            return dict(empty)
    instance = _INSTANCES.get(schema)
    if instance is None:
        instance = _INSTANCES.setdefault(schema, schema())
    try:
        loaded: dict[str, Any] = instance.load(data or {})
    except ValidationError as exc:
        problems = "; ".join(line.rstrip(".") for line in _describe(exc.messages))
        raise BadRequest(f"Invalid {where}: {problems}.") from None
    if not data and all(value is None or isinstance(value, str | int | float) for value in loaded.values()):
        # Only scalars: the copies handed out share nothing that a caller could change.
        _EMPTY_LOADS[schema] = dict(loaded)
    return loaded


def _maintenance_version(body: Mapping[str, Any]) -> str | None:
    info = body.get("maintenance_info")
    return info["version"] if info else None


def provision_request(
    instance_id: str, body: Mapping[str, Any] | None, info: RequestInfo
) -> ProvisionRequest:
    data = load(ProvisionBody, body, "request body")
    return ProvisionRequest(
        instance_id=instance_id,
        service_id=data["service_id"],
        plan_id=data["plan_id"],
        organization_guid=data["organization_guid"],
        space_guid=data["space_guid"],
        context=Context(data["context"] or {}),
        parameters=data["parameters"],
        maintenance_info_version=_maintenance_version(data),
        info=info,
    )


def update_request(instance_id: str, body: Mapping[str, Any] | None, info: RequestInfo) -> UpdateRequest:
    data = load(UpdateBody, body, "request body")
    return UpdateRequest(
        instance_id=instance_id,
        service_id=data["service_id"],
        plan_id=data["plan_id"],
        context=Context(data["context"]) if data["context"] is not None else None,
        parameters=data["parameters"],
        previous_values=data["previous_values"],
        maintenance_info_version=_maintenance_version(data),
        info=info,
    )


def deprovision_request(instance_id: str, query: Mapping[str, Any], info: RequestInfo) -> DeprovisionRequest:
    data = load(DeleteQuery, query, "query")
    return DeprovisionRequest(
        instance_id=instance_id, service_id=data["service_id"], plan_id=data["plan_id"], info=info
    )


def fetch_instance_request(
    instance_id: str, query: Mapping[str, Any], info: RequestInfo
) -> FetchInstanceRequest:
    data = load(FetchQuery, query, "query")
    return FetchInstanceRequest(
        instance_id=instance_id, service_id=data["service_id"], plan_id=data["plan_id"], info=info
    )


def last_operation_request(
    instance_id: str, binding_id: str | None, query: Mapping[str, Any], info: RequestInfo
) -> LastOperationRequest:
    data = load(LastOperationQuery, query, "query")
    return LastOperationRequest(
        instance_id=instance_id,
        binding_id=binding_id,
        service_id=data["service_id"],
        plan_id=data["plan_id"],
        operation=data["operation"],
        info=info,
    )


def bind_request(
    instance_id: str, binding_id: str, body: Mapping[str, Any] | None, info: RequestInfo
) -> BindRequest:
    data = load(BindBody, body, "request body")
    return BindRequest(
        instance_id=instance_id,
        binding_id=binding_id,
        service_id=data["service_id"],
        plan_id=data["plan_id"],
        context=Context(data["context"] or {}),
        parameters=data["parameters"],
        bind_resource=data["bind_resource"],
        app_guid=data["app_guid"],
        predecessor_binding_id=data["predecessor_binding_id"],
        info=info,
    )


def unbind_request(
    instance_id: str, binding_id: str, query: Mapping[str, Any], info: RequestInfo
) -> UnbindRequest:
    data = load(DeleteQuery, query, "query")
    return UnbindRequest(
        instance_id=instance_id,
        binding_id=binding_id,
        service_id=data["service_id"],
        plan_id=data["plan_id"],
        info=info,
    )


def fetch_binding_request(
    instance_id: str, binding_id: str, query: Mapping[str, Any], info: RequestInfo
) -> FetchBindingRequest:
    data = load(FetchQuery, query, "query")
    return FetchBindingRequest(
        instance_id=instance_id,
        binding_id=binding_id,
        service_id=data["service_id"],
        plan_id=data["plan_id"],
        info=info,
    )


def accepts_incomplete(query: Mapping[str, Any]) -> bool:
    """The ``accepts_incomplete`` query flag: absent is false, anything but true/false is a 400."""
    return bool(load(AsyncQuery, query, "query")["accepts_incomplete"])
