"""The Redis broker's catalog: the shipped (or the operator's) YAML plus parameter schemas.

Operators write plans without ``schemas``: the broker derives each plan's provision,
update and bind schemas from its ``properties`` and the settings (parameters.py), so the
published JSON Schema always matches what the broker accepts. A plan whose engine has no
accounts (before Redis 4.0) must say ``bindable: false``: the broker would otherwise have
nothing but the instance's own password to hand out.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Sequence

from aliyun_brokers.redis.parameters import bind_schema, provision_schema, update_schema
from aliyun_brokers.redis.plans import RedisPlan, parse_properties
from openbroker_aliyun.catalog.loader import load_catalog
from openbroker_aliyun.catalog.model import Catalog, Plan, PlanSchemas, Service
from openbroker_aliyun.catalog.validation import CatalogError, validate_catalog

__all__ = ["SHIPPED_CATALOG", "load_redis_catalog"]

#: The catalog that ships with the broker.
SHIPPED_CATALOG = Path(__file__).with_name("catalog.yaml")


def load_redis_catalog(
    path: str | Path | None = None, *, user_zones: Sequence[str] = ()
) -> tuple[Catalog, dict[str, RedisPlan]]:
    """The catalog with parameter schemas, and each plan's typed properties by plan id.

    ``user_zones`` are the zones users may choose (empty: the ``zone_id`` parameter is
    not offered). Raises ``CatalogError`` listing every problem.
    """
    raw = load_catalog(Path(path) if path is not None else SHIPPED_CATALOG, validate=False)
    problems: list[str] = []
    plans: dict[str, RedisPlan] = {}
    services = []
    for s_index, service in enumerate(raw.services):
        new_plans = []
        for p_index, plan in enumerate(service.plans):
            where = f"services[{s_index}].plans[{p_index}]"
            try:
                typed = _typed_plan(service, plan, where)
            except CatalogError as error:
                problems.extend(error.problems)
                continue
            plans[plan.id] = typed
            new_plans.append(dataclasses.replace(plan, schemas=_schemas(service, plan, typed, user_zones)))
        services.append(dataclasses.replace(service, plans=tuple(new_plans)))
    if problems:
        raise CatalogError(problems)
    catalog = Catalog(services=tuple(services))
    validate_catalog(catalog)
    return catalog, plans


def _typed_plan(service: Service, plan: Plan, where: str) -> RedisPlan:
    if plan.schemas != PlanSchemas():
        raise CatalogError([f"{where}.schemas: leave out; the broker derives the schemas from `properties`"])
    typed = parse_properties(plan, where)
    if service.is_bindable(plan) and not typed.accounts:
        raise CatalogError(
            [
                f"{where}: Redis {', '.join(typed.engine_versions)} has no accounts, so bindings would "
                "share the instance's password; set `bindable: false` on this plan"
            ]
        )
    return typed


def _schemas(service: Service, plan: Plan, typed: RedisPlan, user_zones: Sequence[str]) -> PlanSchemas:
    return PlanSchemas(
        provision=provision_schema(plan.name, typed, user_zones),
        update=update_schema(plan.name),
        bind=bind_schema(plan.name) if service.is_bindable(plan) else None,
    )
