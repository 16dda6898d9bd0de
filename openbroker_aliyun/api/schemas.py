"""Wire schemas: OSB request bodies and query strings in, domain requests out.

Shape only: required fields, types, the ``accepts_incomplete`` flag. Unknown fields are
dropped, never rejected (vendor extensions, OSB G7); ``null`` means absent. Whether a
service, plan or parameter is acceptable is the engine's decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from openbroker_aliyun.api.wire_text import MAX_OPERATION_LENGTH, check_id, text_validator
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

_NOT_EMPTY = validate.Length(min=1, error="Must not be empty.")


def _required_id() -> fields.String:
    return fields.String(required=True, validate=[_NOT_EMPTY, text_validator()])


def _optional_id() -> fields.String:
    """An optional id or GUID: absent or null is fine, an empty string is not."""
    return fields.String(load_default=None, allow_none=True, validate=[_NOT_EMPTY, text_validator()])


def _optional_str(max_length: int = 255) -> fields.String:
    return fields.String(load_default=None, allow_none=True, validate=text_validator(max_length))


def _optional_object() -> fields.Dict:
    return fields.Dict(keys=fields.String(), load_default=None, allow_none=True)


def tenancy_problem(
    organization_guid: str | None, space_guid: str | None, context: Mapping[str, Any] | None
) -> str | None:
    """Why a provision carries no tenancy, or None when it does.

    The tenancy is the top-level ``organization_guid`` and ``space_guid`` (the spec's
    required fields), or else the platform's in ``context``: Cloud Foundry's
    ``organization_guid`` and ``space_guid``, or Kubernetes' ``namespace`` and
    ``clusterid`` (also spelt ``clusterId``). Empty strings never count.
    """
    if organization_guid and space_guid:
        return None
    raw = context or {}
    for keys in (("organization_guid", "space_guid"), ("namespace", "clusterid", "clusterId")):
        present = [key for key in keys if key in raw]
        empty = [key for key in present if not (isinstance(raw[key], str) and raw[key])]
        if empty:
            return f"context.{empty[0]} must be a non-empty string."
    ctx = Context(raw)
    if (ctx.organization_guid and ctx.space_guid) or (ctx.namespace and ctx.cluster_id):
        return None
    missing = [
        name
        for name, value in (("organization_guid", organization_guid), ("space_guid", space_guid))
        if not value
    ]
    return (
        f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} required, "
        "unless context carries the tenancy (Cloud Foundry: organization_guid and space_guid; "
        "Kubernetes: namespace and clusterid)."
    )


class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE


class MaintenanceInfoSchema(_Lenient):
    version = fields.String(required=True, validate=text_validator())


class ProvisionBody(_Lenient):
    service_id = _required_id()
    plan_id = _required_id()
    context = _optional_object()
    # Deprecated but still "required" by the spec. Optional field by field, because a
    # platform may carry the tenancy in ``context`` alone; ``_tenancy`` then requires
    # one of the two (docs/concepts.md, "Tenancy").
    organization_guid = _optional_id()
    space_guid = _optional_id()
    parameters = _optional_object()
    maintenance_info = fields.Nested(MaintenanceInfoSchema, load_default=None, allow_none=True)

    @validates_schema(skip_on_field_errors=True)
    def _tenancy(self, data: dict[str, Any], **_: Any) -> None:
        problem = tenancy_problem(data.get("organization_guid"), data.get("space_guid"), data.get("context"))
        if problem is not None:
            raise ValidationError(problem)


class UpdateBody(_Lenient):
    service_id = _required_id()
    plan_id = _optional_id()
    context = _optional_object()
    parameters = _optional_object()
    previous_values = _optional_object()
    maintenance_info = fields.Nested(MaintenanceInfoSchema, load_default=None, allow_none=True)


class BindBody(_Lenient):
    service_id = _required_id()
    plan_id = _required_id()
    context = _optional_object()
    app_guid = _optional_id()
    bind_resource = _optional_object()
    parameters = _optional_object()
    predecessor_binding_id = _optional_id()


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
    operation = _optional_str(MAX_OPERATION_LENGTH)


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
        instance_id=check_id(instance_id, "instance_id"),
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
        instance_id=check_id(instance_id, "instance_id"),
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
        instance_id=check_id(instance_id, "instance_id"),
        service_id=data["service_id"],
        plan_id=data["plan_id"],
        info=info,
    )


def fetch_instance_request(
    instance_id: str, query: Mapping[str, Any], info: RequestInfo
) -> FetchInstanceRequest:
    data = load(FetchQuery, query, "query")
    return FetchInstanceRequest(
        instance_id=check_id(instance_id, "instance_id"),
        service_id=data["service_id"],
        plan_id=data["plan_id"],
        info=info,
    )


def last_operation_request(
    instance_id: str, binding_id: str | None, query: Mapping[str, Any], info: RequestInfo
) -> LastOperationRequest:
    data = load(LastOperationQuery, query, "query")
    return LastOperationRequest(
        instance_id=check_id(instance_id, "instance_id"),
        binding_id=check_id(binding_id, "binding_id") if binding_id is not None else None,
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
        instance_id=check_id(instance_id, "instance_id"),
        binding_id=check_id(binding_id, "binding_id"),
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
        instance_id=check_id(instance_id, "instance_id"),
        binding_id=check_id(binding_id, "binding_id"),
        service_id=data["service_id"],
        plan_id=data["plan_id"],
        info=info,
    )


def fetch_binding_request(
    instance_id: str, binding_id: str, query: Mapping[str, Any], info: RequestInfo
) -> FetchBindingRequest:
    data = load(FetchQuery, query, "query")
    return FetchBindingRequest(
        instance_id=check_id(instance_id, "instance_id"),
        binding_id=check_id(binding_id, "binding_id"),
        service_id=data["service_id"],
        plan_id=data["plan_id"],
        info=info,
    )


def accepts_incomplete(query: Mapping[str, Any]) -> bool:
    """The ``accepts_incomplete`` query flag: absent is false, anything but true/false is a 400."""
    return bool(load(AsyncQuery, query, "query")["accepts_incomplete"])
