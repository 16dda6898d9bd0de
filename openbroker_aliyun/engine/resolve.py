"""Checks of a request against the catalog: required ids, known service, plan of service."""

from __future__ import annotations

from openbroker_aliyun.catalog.model import Catalog, Plan, Service
from openbroker_aliyun.errors import BadRequest, MaintenanceInfoConflict


def require(**ids: str | None) -> None:
    """Raise ``BadRequest`` naming the first id that is missing or empty."""
    for name, value in ids.items():
        if not isinstance(value, str) or not value.strip():
            raise BadRequest(f"{name} is required and must be a non-empty string.")


class CatalogIndex:
    """Finds services and plans by id, answering OSB errors for unknown ones."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._services = {service.id: service for service in catalog.services}
        self._plans = {plan.id: (service, plan) for service in catalog.services for plan in service.plans}

    def service(self, service_id: str) -> Service:
        """The service with that id; ``BadRequest`` naming it when unknown."""
        found = self._services.get(service_id)
        if found is None:
            raise BadRequest(f"service_id {service_id!r} is not a service of this broker's catalog.")
        return found

    def resolve(self, service_id: str, plan_id: str) -> tuple[Service, Plan]:
        """Service and plan; ``BadRequest`` when either is unknown or the plan is another's."""
        service = self.service(service_id)
        plan = service.plan(plan_id)
        if plan is None:
            raise BadRequest(f"plan_id {plan_id!r} is not a plan of service {service.name!r} ({service_id}).")
        return service, plan

    def plan(self, plan_id: str) -> Plan | None:
        """The plan with that id in any service, or None (a plan since removed)."""
        found = self._plans.get(plan_id)
        return None if found is None else found[1]

    def plan_or_stub(self, plan_id: str) -> Plan:
        """The plan, or a stand-in without settings for a plan no longer in the catalog.

        Instances of a removed plan must stay deletable.
        """
        return self.plan(plan_id) or Plan(id=plan_id, name=plan_id, description="(no longer in the catalog)")


def check_maintenance_info(plan: Plan, version: str | None) -> None:
    """``MaintenanceInfoConflict`` when a requested version differs from the plan's."""
    if version is None:
        return
    current = plan.maintenance_info.version if plan.maintenance_info else None
    if version != current:
        wanted = f"version {current!r}" if current else "no maintenance_info"
        raise MaintenanceInfoConflict(
            f"maintenance_info.version {version!r} does not match the plan {plan.name!r}, which has "
            f"{wanted}; fetch the catalog again and retry."
        )
