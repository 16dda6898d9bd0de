"""Domain responses out: the JSON bodies of OSB table A4, with ``None`` fields left out."""

from __future__ import annotations

import functools
import math
from datetime import UTC, datetime
from typing import Any

from openbroker_aliyun.api.errors import json_bytes
from openbroker_aliyun.domain import (
    BindingResponse,
    BindingView,
    DeleteResponse,
    InstanceMetadata,
    InstanceResponse,
    InstanceView,
    LastOperation,
    OperationState,
)


def _timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, as the spec writes ``expires_at``; naive means UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _metadata(metadata: InstanceMetadata) -> dict[str, Any]:
    return {"labels": dict(metadata.labels), "attributes": dict(metadata.attributes)}


def instance_body(response: InstanceResponse) -> dict[str, Any]:
    """Provision and update: ``{dashboard_url?, operation?, metadata?}``."""
    body: dict[str, Any] = {}
    if response.dashboard_url is not None:
        body["dashboard_url"] = response.dashboard_url
    if response.operation is not None and response.status == 202:
        body["operation"] = response.operation
    if response.metadata is not None:
        body["metadata"] = _metadata(response.metadata)
    return body


def delete_body(response: DeleteResponse) -> dict[str, Any]:
    """Deprovision and unbind: ``{}`` or ``{operation}``."""
    if response.status == 202 and response.operation is not None:
        return {"operation": response.operation}
    return {}


def instance_view_body(view: InstanceView) -> dict[str, Any]:
    body: dict[str, Any] = {"service_id": view.service_id, "plan_id": view.plan_id}
    if view.dashboard_url is not None:
        body["dashboard_url"] = view.dashboard_url
    if view.parameters is not None:
        body["parameters"] = view.parameters
    if view.maintenance_info_version is not None:
        body["maintenance_info"] = {"version": view.maintenance_info_version}
    if view.metadata is not None:
        body["metadata"] = _metadata(view.metadata)
    return body


def binding_view_body(view: BindingView) -> dict[str, Any]:
    """A binding on a 200/201 bind and on GET binding."""
    body: dict[str, Any] = {}
    if view.credentials is not None:
        body["credentials"] = view.credentials
    if view.endpoints:
        body["endpoints"] = [
            {"host": e.host, "ports": list(e.ports), "protocol": e.protocol} for e in view.endpoints
        ]
    if view.syslog_drain_url is not None:
        body["syslog_drain_url"] = view.syslog_drain_url
    if view.route_service_url is not None:
        body["route_service_url"] = view.route_service_url
    if view.volume_mounts:
        body["volume_mounts"] = [dict(mount) for mount in view.volume_mounts]
    if view.parameters is not None:
        body["parameters"] = view.parameters
    metadata = {}
    if view.expires_at is not None:
        metadata["expires_at"] = _timestamp(view.expires_at)
    if view.renew_before is not None:
        metadata["renew_before"] = _timestamp(view.renew_before)
    if metadata:
        body["metadata"] = metadata
    return body


def binding_body(response: BindingResponse) -> dict[str, Any]:
    """Bind: the binding on 200/201; only ``{operation}`` on 202, never credentials."""
    if response.status == 202:
        return {"operation": response.operation} if response.operation is not None else {}
    return binding_view_body(response.binding) if response.binding is not None else {}


def last_operation_body(operation: LastOperation) -> dict[str, Any]:
    body: dict[str, Any] = {"state": str(operation.state)}
    if operation.description:
        body["description"] = operation.description
    if operation.instance_usable is not None:
        body["instance_usable"] = operation.instance_usable
    if operation.update_repeatable is not None:
        body["update_repeatable"] = operation.update_repeatable
    return body


@functools.lru_cache(maxsize=1024)
def last_operation_json(operation: LastOperation) -> bytes:
    """The bytes of ``last_operation_body``, encoded once per distinct answer: polls
    repeat the same few answers (a description per step of an operation) many times."""
    return json_bytes(last_operation_body(operation))


def retry_after_header(operation: LastOperation) -> dict[str, str]:
    """``Retry-After`` in whole seconds (at least 1) while the operation is in progress."""
    if operation.state != OperationState.IN_PROGRESS or operation.retry_after is None:
        return {}
    return {"Retry-After": str(max(1, math.ceil(operation.retry_after)))}
