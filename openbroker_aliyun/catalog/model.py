"""The catalog as typed objects: services, plans, maintenance info, parameter schemas.

Declared in code (build these dataclasses) or loaded from YAML
(``openbroker_aliyun.catalog.loader``); validated once at start-up and serialised once
(``openbroker_aliyun.catalog.wire.catalog_to_wire``), never per request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from marshmallow import Schema


@dataclass(frozen=True)
class MaintenanceInfo:
    """Plan ``maintenance_info``; ``version`` is SemVer 2.0."""

    version: str
    description: str | None = None


@dataclass(frozen=True)
class PlanSchemas:
    """Parameter schemas of one plan, one marshmallow schema class per operation.

    Each is published as JSON Schema in the catalog and enforced on the request; ``None``
    means the operation takes no parameters (any given are rejected).
    """

    provision: type[Schema] | None = None
    update: type[Schema] | None = None
    bind: type[Schema] | None = None


@dataclass(frozen=True)
class Plan:
    id: str
    name: str
    description: str
    free: bool = True
    bindable: bool | None = None
    plan_updateable: bool | None = None
    binding_rotatable: bool = False
    maximum_polling_duration: int | None = None
    maintenance_info: MaintenanceInfo | None = None
    schemas: PlanSchemas = field(default_factory=PlanSchemas)
    metadata: Mapping[str, Any] = field(default_factory=dict)
    # Broker-private settings (instance class, storage, ...); never published.
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Service:
    id: str
    name: str
    description: str
    bindable: bool
    plans: tuple[Plan, ...]
    tags: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    instances_retrievable: bool = False
    bindings_retrievable: bool = False
    allow_context_updates: bool = False
    plan_updateable: bool = False
    metadata: Mapping[str, Any] = field(default_factory=dict)
    dashboard_client: Mapping[str, Any] | None = None

    def plan(self, plan_id: str) -> Plan | None:
        """The plan of this service with that id, or None."""
        for plan in self.plans:
            if plan.id == plan_id:
                return plan
        return None

    def is_bindable(self, plan: Plan) -> bool:
        """Plan ``bindable`` overrides the service's."""
        return self.bindable if plan.bindable is None else plan.bindable

    def is_plan_updateable(self, plan: Plan) -> bool:
        """Plan ``plan_updateable`` overrides the service's."""
        return self.plan_updateable if plan.plan_updateable is None else plan.plan_updateable


@dataclass(frozen=True)
class Catalog:
    services: tuple[Service, ...]

    def service(self, service_id: str) -> Service | None:
        """The service with that id, or None."""
        for service in self.services:
            if service.id == service_id:
                return service
        return None
