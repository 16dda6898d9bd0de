"""The RDS broker's catalog: the shipped (or the operator's) YAML plus parameter schemas.

Loaded by ``aliyun_brokers.common.catalog`` (schemas derived from each plan's
``properties``, see parameters.py); every service's plans must share one engine, and
every RDS service is bindable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from aliyun_brokers.common.catalog import load_typed_catalog
from aliyun_brokers.rds.parameters import provision_schema, update_schema
from aliyun_brokers.rds.plans import RdsPlan, parse_properties
from openbroker_aliyun.catalog.model import Catalog, Plan, PlanSchemas, Service

__all__ = ["SHIPPED_CATALOG", "load_rds_catalog"]

#: The catalog that ships with the broker.
SHIPPED_CATALOG = Path(__file__).with_name("catalog.yaml")


def load_rds_catalog(
    path: str | Path | None = None, *, user_zones: Sequence[str] = ()
) -> tuple[Catalog, dict[str, RdsPlan]]:
    """The RDS catalog (``path``, else the shipped one) and its typed plans: see ``load_typed_catalog``.

    ``user_zones`` are the zones users may choose (none: no ``zone_id`` parameter).
    """

    def schemas(service: Service, plan: Plan, typed: RdsPlan) -> PlanSchemas:
        name = f"{typed.engine}_{plan.name}"
        return PlanSchemas(
            provision=provision_schema(name, typed, user_zones), update=update_schema(name, typed)
        )

    return load_typed_catalog(
        path if path is not None else SHIPPED_CATALOG,
        typed_plan=lambda service, plan, where: parse_properties(plan, where),
        schemas=schemas,
        check_service=_check_service,
    )


def _check_service(service: Service, plans: Sequence[RdsPlan], where: str) -> list[str]:
    problems = []
    if len({plan.engine for plan in plans}) > 1:
        problems.append(f"{where}: all plans of a service must have the same engine")
    if not service.bindable:
        problems.append(f"{where}.bindable: RDS services are bindable")
    return problems
