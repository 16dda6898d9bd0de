"""Loading an Alibaba broker's catalog: plans with typed ``properties`` and derived schemas.

Operators write plans without ``schemas``: each broker derives a plan's parameter schemas
from its ``properties`` (read strictly into the product's plan type) and the settings,
so the published JSON Schema always matches what the broker accepts. An operator's typo
in a replaced catalog file stops the broker at start-up with the plan and key named,
instead of failing provisions. The product supplies three functions: the typed plan, its
schemas, and (optionally) checks over all plans of one service.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar

from marshmallow import Schema, ValidationError

from openbroker_aliyun.catalog.loader import load_catalog
from openbroker_aliyun.catalog.model import Catalog, Plan, PlanSchemas, Service
from openbroker_aliyun.catalog.validation import CatalogError, validate_catalog

__all__ = ["load_typed_catalog", "plan_properties"]

PlanT = TypeVar("PlanT")


def load_typed_catalog(
    path: str | Path,
    *,
    typed_plan: Callable[[Service, Plan, str], PlanT],
    schemas: Callable[[Service, Plan, PlanT], PlanSchemas],
    check_service: Callable[[Service, Sequence[PlanT], str], Sequence[str]] = lambda *_: (),
) -> tuple[Catalog, dict[str, PlanT]]:
    """The catalog at ``path`` with derived schemas, and each plan's typed properties by plan id.

    ``typed_plan(service, plan, where)`` raises ``CatalogError`` naming ``where`` (e.g.
    ``services[0].plans[1]``); ``check_service(service, typed_plans, where)`` returns
    problems of a whole service. Raises ``CatalogError`` listing every problem.
    """
    # No schema names are known to the loader: a plan naming one is refused there.
    raw = load_catalog(Path(path), validate=False)
    problems: list[str] = []
    plans: dict[str, PlanT] = {}
    services = []
    for s_index, service in enumerate(raw.services):
        typed_plans: list[PlanT] = []
        new_plans = []
        for p_index, plan in enumerate(service.plans):
            where = f"services[{s_index}].plans[{p_index}]"
            try:
                typed = typed_plan(service, plan, where)
            except CatalogError as error:
                problems.extend(error.problems)
                continue
            plans[plan.id] = typed
            typed_plans.append(typed)
            new_plans.append(dataclasses.replace(plan, schemas=schemas(service, plan, typed)))
        problems.extend(check_service(service, typed_plans, f"services[{s_index}]"))
        services.append(dataclasses.replace(service, plans=tuple(new_plans)))
    if problems:
        raise CatalogError(problems)
    catalog = Catalog(services=tuple(services))
    validate_catalog(catalog)
    return catalog, plans


def plan_properties(schema: Schema, plan: Plan, where: str) -> dict[str, Any]:
    """``plan.properties`` loaded by ``schema``, or ``CatalogError`` naming ``where`` and the keys."""
    try:
        return dict(schema.load(dict(plan.properties)))
    except ValidationError as error:
        problems = []
        for key, messages in sorted(error.normalized_messages().items()):
            text = " ".join(str(m) for m in messages) if isinstance(messages, list) else str(messages)
            problems.append(f"{where if key == '_schema' else f'{where}.properties.{key}'}: {text}")
        raise CatalogError(problems) from None
