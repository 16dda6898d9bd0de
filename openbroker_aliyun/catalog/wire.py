"""The catalog as OSB JSON (``GET /v2/catalog``), built once at start-up."""

from __future__ import annotations

from typing import Any

from openbroker_aliyun.catalog.json_schema import parameters_json_schema
from openbroker_aliyun.catalog.model import Catalog, Plan, PlanSchemas, Service


def catalog_to_wire(catalog: Catalog) -> dict[str, Any]:
    """The ``{"services": [...]}`` body of ``GET /v2/catalog``.

    Every OSB 2.17 catalog field the model holds, spelled as on the wire
    (``plan_updateable``), with ``None`` fields left out; parameter schemas published as
    draft-04 JSON Schema. A plan's private ``properties`` are never published.
    """
    return {"services": [_service(service) for service in catalog.services]}


def _service(service: Service) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": service.id,
        "name": service.name,
        "description": service.description,
        "bindable": service.bindable,
        "instances_retrievable": service.instances_retrievable,
        "bindings_retrievable": service.bindings_retrievable,
        "allow_context_updates": service.allow_context_updates,
        "plan_updateable": service.plan_updateable,
    }
    if service.tags:
        out["tags"] = list(service.tags)
    if service.requires:
        out["requires"] = list(service.requires)
    if service.metadata:
        out["metadata"] = dict(service.metadata)
    if service.dashboard_client is not None:
        out["dashboard_client"] = dict(service.dashboard_client)
    out["plans"] = [_plan(plan) for plan in service.plans]
    return out


def _plan(plan: Plan) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": plan.id,
        "name": plan.name,
        "description": plan.description,
        "free": plan.free,
    }
    if plan.bindable is not None:
        out["bindable"] = plan.bindable
    if plan.plan_updateable is not None:
        out["plan_updateable"] = plan.plan_updateable
    # Defaults to false; the field is new in 2.17, so it is only sent when set.
    if plan.binding_rotatable:
        out["binding_rotatable"] = True
    if plan.maximum_polling_duration is not None:
        out["maximum_polling_duration"] = plan.maximum_polling_duration
    if plan.maintenance_info is not None:
        info: dict[str, Any] = {"version": plan.maintenance_info.version}
        if plan.maintenance_info.description is not None:
            info["description"] = plan.maintenance_info.description
        out["maintenance_info"] = info
    if plan.metadata:
        out["metadata"] = dict(plan.metadata)
    schemas = _schemas(plan.schemas)
    if schemas:
        out["schemas"] = schemas
    return out


def _schemas(schemas: PlanSchemas) -> dict[str, Any]:
    out: dict[str, Any] = {}
    instance: dict[str, Any] = {}
    if schemas.provision is not None:
        instance["create"] = {"parameters": parameters_json_schema(schemas.provision)}
    if schemas.update is not None:
        instance["update"] = {"parameters": parameters_json_schema(schemas.update, partial=True)}
    if instance:
        out["service_instance"] = instance
    if schemas.bind is not None:
        out["service_binding"] = {"create": {"parameters": parameters_json_schema(schemas.bind)}}
    return out
