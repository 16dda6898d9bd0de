"""The RDS broker's catalog: the shipped (or the operator's) YAML plus parameter schemas.

Operators write plans without ``schemas``: the broker derives each plan's provision and
update schemas from its ``properties`` and the settings (parameters.py), so the
published JSON Schema always matches what the broker accepts.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Sequence

from aliyun_brokers.rds.parameters import provision_schema, update_schema
from aliyun_brokers.rds.plans import RdsPlan, parse_properties
from openbroker_aliyun.catalog.loader import load_catalog
from openbroker_aliyun.catalog.model import Catalog, PlanSchemas
from openbroker_aliyun.catalog.validation import CatalogError, validate_catalog

__all__ = ["SHIPPED_CATALOG", "load_rds_catalog"]

#: The catalog that ships with the broker.
SHIPPED_CATALOG = Path(__file__).with_name("catalog.yaml")


def load_rds_catalog(
    path: str | Path | None = None, *, user_zones: Sequence[str] = ()
) -> tuple[Catalog, dict[str, RdsPlan]]:
    """The catalog with parameter schemas, and each plan's typed properties by plan id.

    ``user_zones`` are the zones users may choose (empty: the ``zone_id`` parameter is
    not offered). Raises ``CatalogError`` listing every problem.
    """
    source = Path(path) if path is not None else SHIPPED_CATALOG
    raw = load_catalog(source, validate=False)
    problems: list[str] = []
    plans: dict[str, RdsPlan] = {}
    services = []
    for s_index, service in enumerate(raw.services):
        engines = set()
        new_plans = []
        for p_index, plan in enumerate(service.plans):
            where = f"services[{s_index}].plans[{p_index}]"
            if plan.schemas != PlanSchemas():
                problems.append(
                    f"{where}.schemas: leave out; the broker derives the schemas from `properties`"
                )
                continue
            try:
                typed = parse_properties(plan, where)
            except CatalogError as error:
                problems.extend(error.problems)
                continue
            engines.add(typed.engine)
            plans[plan.id] = typed
            schemas = PlanSchemas(
                provision=provision_schema(f"{typed.engine}_{plan.name}", typed, user_zones),
                update=update_schema(f"{typed.engine}_{plan.name}", typed),
            )
            new_plans.append(dataclasses.replace(plan, schemas=schemas))
        if len(engines) > 1:
            problems.append(f"services[{s_index}]: all plans of a service must have the same engine")
        if not service.bindable:
            problems.append(f"services[{s_index}].bindable: RDS services are bindable")
        services.append(dataclasses.replace(service, plans=tuple(new_plans)))
    if problems:
        raise CatalogError(problems)
    catalog = Catalog(services=tuple(services))
    validate_catalog(catalog)
    return catalog, plans
