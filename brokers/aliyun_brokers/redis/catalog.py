"""The Redis broker's catalog: the shipped (or the operator's) YAML plus parameter schemas.

Loaded by ``aliyun_brokers.common.catalog`` (schemas derived from each plan's
``properties``, see parameters.py). A plan whose engine has no accounts (before Redis
4.0) must say ``bindable: false``: the broker would otherwise have nothing but the
instance's own password to hand out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from aliyun_brokers.common.catalog import load_typed_catalog
from aliyun_brokers.redis.parameters import bind_schema, provision_schema, update_schema
from aliyun_brokers.redis.plans import RedisPlan, parse_properties
from openbroker_aliyun.catalog.model import Catalog, Plan, PlanSchemas, Service
from openbroker_aliyun.catalog.validation import CatalogError

__all__ = ["SHIPPED_CATALOG", "load_redis_catalog"]

#: The catalog that ships with the broker.
SHIPPED_CATALOG = Path(__file__).with_name("catalog.yaml")


def load_redis_catalog(
    path: str | Path | None = None, *, user_zones: Sequence[str] = ()
) -> tuple[Catalog, dict[str, RedisPlan]]:
    """The Redis catalog (``path``, else the shipped one) and its typed plans by plan id.

    Loaded by ``load_typed_catalog``; ``user_zones`` are the zones users may choose (when
    there are none, the ``zone_id`` parameter is not offered).
    """

    def schemas(service: Service, plan: Plan, typed: RedisPlan) -> PlanSchemas:
        return PlanSchemas(
            provision=provision_schema(plan.name, typed, user_zones),
            update=update_schema(plan.name),
            bind=bind_schema(plan.name) if service.is_bindable(plan) else None,
        )

    return load_typed_catalog(
        path if path is not None else SHIPPED_CATALOG, typed_plan=_typed_plan, schemas=schemas
    )


def _typed_plan(service: Service, plan: Plan, where: str) -> RedisPlan:
    typed = parse_properties(plan, where)
    if service.is_bindable(plan) and not typed.accounts:
        raise CatalogError(
            [
                f"{where}: Redis {', '.join(typed.engine_versions)} has no accounts, so bindings would "
                "share the instance's password; set `bindable: false` on this plan"
            ]
        )
    return typed
