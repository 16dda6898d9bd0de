"""Catalogs written in YAML, with the OSB wire field names.

A catalog file reads like the ``GET /v2/catalog`` JSON, with two differences in a plan:
``schemas`` names marshmallow schema classes (``provision``, ``update``, ``bind``)
instead of holding JSON Schemas, and ``properties`` holds broker-private settings that
are never published (instance class, storage, ...)::

    services:
      - id: 8a6c1d3e-0f5b-4c1e-9d7a-2b3c4d5e6f70
        name: aliyun-rds-mysql
        description: ApsaraDB RDS for MySQL
        bindable: true
        plans:
          - id: 0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6
            name: basic
            description: 1 vCPU, 1 GiB
            schemas: {provision: RdsProvisionParameters}
            properties: {instance_class: mysql.n1.micro.1}

Every key is checked: an unknown key (a typo) or a missing required one is a
``CatalogError`` naming its path, such as ``services[0].plans[1].nmae``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, TextIO

import yaml
from marshmallow import RAISE, Schema, ValidationError, fields

from openbroker_aliyun.catalog.model import Catalog, MaintenanceInfo, Plan, PlanSchemas, Service
from openbroker_aliyun.catalog.validation import CatalogError, validate_catalog

_NO_SCHEMAS: Mapping[str, type[Schema]] = {}


def load_catalog(
    source: str | Path | TextIO,
    *,
    schemas: Mapping[str, type[Schema]] = _NO_SCHEMAS,
    validate: bool = True,
) -> Catalog:
    """Read a catalog from a YAML file (a path, as ``str`` or ``Path``) or an open stream.

    ``schemas`` maps the names used in plans' ``schemas`` sections to marshmallow schema
    classes. With ``validate`` (the default) the result also passes ``validate_catalog``.
    For YAML held in a string, pass ``io.StringIO(text)``.

    Raises ``CatalogError`` for YAML syntax errors, unknown or missing keys, wrong types
    and unknown schema names (all problems at once); ``OSError`` if the file can't be read.
    """
    if isinstance(source, (str, Path)):
        with open(source, encoding="utf-8") as stream:
            data = _parse(stream)
    else:
        data = _parse(source)
    catalog = catalog_from_dict(data, schemas=schemas)
    if validate:
        validate_catalog(catalog)
    return catalog


def catalog_from_dict(data: Any, *, schemas: Mapping[str, type[Schema]] = _NO_SCHEMAS) -> Catalog:
    """Build a ``Catalog`` from parsed YAML/JSON in the loader's format (see module doc).

    Checks shape only (keys, types, schema names) and raises ``CatalogError`` listing
    every problem with its path; the OSB rules are ``validate_catalog``'s job.
    """
    try:
        loaded = _CatalogDoc().load(data if data is not None else {})
    except ValidationError as error:
        raise CatalogError(_paths(error.messages)) from None
    problems: list[str] = []
    services = tuple(
        _service(doc, schemas, f"services[{index}]", problems) for index, doc in enumerate(loaded["services"])
    )
    if problems:
        raise CatalogError(problems)
    return Catalog(services=services)


def _parse(stream: TextIO) -> Any:
    try:
        return yaml.safe_load(stream)
    except yaml.MarkedYAMLError as error:
        # Not str(error): it quotes the offending line, which may hold a secret.
        mark = error.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise CatalogError([f"YAML syntax error{where}: {error.problem}"]) from None
    except yaml.YAMLError as error:
        raise CatalogError([f"YAML error: {type(error).__name__}"]) from None


def _service(
    doc: dict[str, Any], schemas: Mapping[str, type[Schema]], path: str, problems: list[str]
) -> Service:
    plans = tuple(
        _plan(plan, schemas, f"{path}.plans[{index}]", problems)
        for index, plan in enumerate(doc.pop("plans"))
    )
    return Service(
        plans=plans,
        tags=tuple(doc.pop("tags", ())),
        requires=tuple(doc.pop("requires", ())),
        **doc,
    )


def _plan(doc: dict[str, Any], schemas: Mapping[str, type[Schema]], path: str, problems: list[str]) -> Plan:
    names = doc.pop("schemas", {})
    resolved: dict[str, type[Schema]] = {}
    for operation, name in names.items():
        if name in schemas:
            resolved[operation] = schemas[name]
        else:
            known = ", ".join(sorted(schemas)) or "none were given"
            problems.append(f"{path}.schemas.{operation}: unknown schema {name!r} (known: {known})")
    info = doc.pop("maintenance_info", None)
    return Plan(
        schemas=PlanSchemas(**resolved),
        maintenance_info=MaintenanceInfo(**info) if info is not None else None,
        **doc,
    )


def _paths(messages: Any, path: str = "") -> list[str]:
    """marshmallow's nested error dict as ``path: message`` lines."""
    if isinstance(messages, dict):
        out: list[str] = []
        for key, value in messages.items():
            if key == "_schema":
                sub = path
            elif isinstance(key, int):
                sub = f"{path}[{key}]"
            else:
                sub = f"{path}.{key}" if path else str(key)
            out.extend(_paths(value, sub))
        return out
    if isinstance(messages, list) and all(isinstance(item, str) for item in messages):
        return [f"{path or '(catalog)'}: {' '.join(messages)}"]
    if isinstance(messages, list):
        return [line for item in messages for line in _paths(item, path)]
    return [f"{path or '(catalog)'}: {messages}"]


# ------------------------------------------------------------ the document's shape


def _strict_bool(**kwargs: Any) -> fields.Boolean:
    # YAML already yields booleans; "yes" in quotes is more likely a mistake than intent.
    return fields.Boolean(truthy={True}, falsy={False}, **kwargs)


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class _MaintenanceInfoDoc(_Strict):
    version = fields.String(required=True)
    description = fields.String()


class _PlanSchemasDoc(_Strict):
    provision = fields.String()
    update = fields.String()
    bind = fields.String()


class _PlanDoc(_Strict):
    id = fields.String(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    free = _strict_bool()
    bindable = _strict_bool()
    plan_updateable = _strict_bool()
    binding_rotatable = _strict_bool()
    maximum_polling_duration = fields.Integer(strict=True)
    maintenance_info = fields.Nested(_MaintenanceInfoDoc)
    schemas = fields.Nested(_PlanSchemasDoc)
    metadata = fields.Dict(keys=fields.String())
    properties = fields.Dict(keys=fields.String())


class _DashboardClientDoc(_Strict):
    id = fields.String(required=True)
    secret = fields.String(required=True)
    redirect_uri = fields.String()


class _ServiceDoc(_Strict):
    id = fields.String(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    bindable = _strict_bool(required=True)
    tags = fields.List(fields.String())
    requires = fields.List(fields.String())
    instances_retrievable = _strict_bool()
    bindings_retrievable = _strict_bool()
    allow_context_updates = _strict_bool()
    plan_updateable = _strict_bool()
    metadata = fields.Dict(keys=fields.String())
    dashboard_client = fields.Nested(_DashboardClientDoc)
    plans = fields.List(fields.Nested(_PlanDoc), required=True)


class _CatalogDoc(_Strict):
    services = fields.List(fields.Nested(_ServiceDoc), required=True)
