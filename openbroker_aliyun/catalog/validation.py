"""Catalog validation, run once at start-up: every problem found is reported together.

A broken catalog is an operator's or author's mistake, so the whole list comes back in
one ``CatalogError`` instead of one problem per restart.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from jsonschema.exceptions import SchemaError
from marshmallow import Schema

from openbroker_aliyun.catalog.json_schema import UnsupportedSchema, is_json_value, parameters_json_schema
from openbroker_aliyun.catalog.model import Catalog, Plan, Service

#: The values OSB allows in a service's ``requires``.
REQUIRES = frozenset({"syslog_drain", "route_forwarding", "volume_mount"})

# The official SemVer 2.0 regex (https://semver.org/#is-there-a-suggested-regular-expression-regex-to-check-a-semver-string).
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


class CatalogError(ValueError):
    """The catalog is invalid; ``problems`` lists every problem found, one per item."""

    def __init__(self, problems: list[str] | tuple[str, ...]) -> None:
        self.problems = tuple(problems)
        super().__init__("Invalid catalog:\n" + "\n".join(f"- {problem}" for problem in self.problems))


def validate_catalog(catalog: Catalog) -> None:
    """Check the catalog against OSB 2.17; raise ``CatalogError`` listing all problems.

    Checked: at least one service, each with at least one plan; service and plan ids
    GUIDs (any UUID spelling) and unique across the catalog; service names unique; plan
    names unique within their service; names non-empty; ``maintenance_info.version``
    SemVer 2.0; ``requires`` within OSB's values; every plan parameter schema publishable
    as a valid draft-04 JSON Schema; ``binding_rotatable`` and a bind schema only on
    bindable plans; ``maximum_polling_duration`` a positive integer.
    """
    problems: list[str] = []
    if not catalog.services:
        problems.append("the catalog has no services")
    seen_ids: dict[str, str] = {}
    seen_service_names: set[str] = set()
    for index, service in enumerate(catalog.services):
        where = _service_label(service, index)
        _check_id(service.id, where, seen_ids, problems)
        _check_name(service.name, where, problems)
        if service.name in seen_service_names:
            problems.append(f"{where}: service name {service.name!r} is used by another service")
        seen_service_names.add(service.name)
        problems.extend(_service_problems(service, where))
        if not service.plans:
            problems.append(f"{where}: has no plans (at least one is required)")
        seen_plan_names: set[str] = set()
        for plan_index, plan in enumerate(service.plans):
            plan_where = f"{where}, {_plan_label(plan, plan_index)}"
            _check_id(plan.id, plan_where, seen_ids, problems)
            _check_name(plan.name, plan_where, problems)
            if plan.name in seen_plan_names:
                problems.append(f"{plan_where}: plan name {plan.name!r} is used twice in this service")
            seen_plan_names.add(plan.name)
            problems.extend(_plan_problems(service, plan, plan_where))
    if problems:
        raise CatalogError(problems)


def _service_label(service: Service, index: int) -> str:
    return f"service {service.name!r}" if service.name else f"service #{index + 1}"


def _plan_label(plan: Plan, index: int) -> str:
    return f"plan {plan.name!r}" if plan.name else f"plan #{index + 1}"


def _check_id(value: Any, where: str, seen: dict[str, str], problems: list[str]) -> None:
    if not isinstance(value, str) or not _is_guid(value):
        problems.append(f"{where}: id {value!r} is not a GUID (generate one with uuid.uuid4())")
        return
    if value in seen:
        problems.append(f"{where}: id {value!r} is already used by {seen[value]}")
    else:
        seen[value] = where


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _check_name(value: Any, where: str, problems: list[str]) -> None:
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}: name must be a non-empty string")


def _service_problems(service: Service, where: str) -> list[str]:
    problems = []
    unknown = sorted(set(service.requires) - REQUIRES)
    if unknown:
        problems.append(f"{where}: requires {unknown} not in {sorted(REQUIRES)}")
    if not is_json_value(dict(service.metadata)):
        problems.append(f"{where}: metadata must hold JSON values only")
    if service.dashboard_client is not None:
        missing_keys = [key for key in ("id", "secret") if not service.dashboard_client.get(key)]
        if missing_keys:
            problems.append(f"{where}: dashboard_client needs {' and '.join(missing_keys)}")
    return problems


def _plan_problems(service: Service, plan: Plan, where: str) -> list[str]:
    problems = []
    if not is_json_value(dict(plan.metadata)):
        problems.append(f"{where}: metadata must hold JSON values only")
    info = plan.maintenance_info
    if info is not None and not (isinstance(info.version, str) and SEMVER.match(info.version)):
        problems.append(
            f"{where}: maintenance_info.version {info.version!r} is not SemVer 2.0 (e.g. '1.0.0')"
        )
    duration = plan.maximum_polling_duration
    if duration is not None and (
        isinstance(duration, bool) or not isinstance(duration, int) or duration <= 0
    ):
        problems.append(f"{where}: maximum_polling_duration must be a positive integer of seconds")
    bindable = service.is_bindable(plan)
    if plan.binding_rotatable and not bindable:
        problems.append(f"{where}: binding_rotatable is set but the plan is not bindable")
    if plan.schemas.bind is not None and not bindable:
        problems.append(f"{where}: has a bind parameter schema but the plan is not bindable")
    for operation, partial in (("provision", False), ("update", True), ("bind", False)):
        schema = getattr(plan.schemas, operation)
        if schema is None:
            continue
        problem = _schema_problem(schema, partial)
        if problem:
            problems.append(f"{where}: {operation} parameters: {problem}")
    return problems


def _schema_problem(schema: Any, partial: bool) -> str | None:
    if not (isinstance(schema, type) and issubclass(schema, Schema)):
        return f"{schema!r} is not a marshmallow Schema class"
    try:
        # parameters_json_schema itself checks the draft-04 meta-schema and the size.
        parameters_json_schema(schema, partial=partial)
    except UnsupportedSchema as error:
        return str(error)
    except SchemaError as error:
        return f"not a valid draft-04 JSON Schema: {error.message}"
    except Exception as error:  # a schema class that cannot even be instantiated
        return f"{type(error).__name__}: {error}"
    return None
