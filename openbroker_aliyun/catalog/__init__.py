"""The catalog: model, YAML loading, validation, OSB serialisation and plan parameters.

Engine-facing entry points: ``validate_catalog`` (start-up), ``catalog_to_wire`` (built
once for ``GET /v2/catalog``), ``validate_parameters`` (each provision, update and bind).
"""

from openbroker_aliyun.catalog.json_schema import UnsupportedSchema, parameters_json_schema
from openbroker_aliyun.catalog.model import Catalog, MaintenanceInfo, Plan, PlanSchemas, Service
from openbroker_aliyun.catalog.params import validate_parameters
from openbroker_aliyun.catalog.validation import CatalogError, validate_catalog
from openbroker_aliyun.catalog.wire import catalog_to_wire

__all__ = [
    "Catalog",
    "CatalogError",
    "MaintenanceInfo",
    "Plan",
    "PlanSchemas",
    "Service",
    "UnsupportedSchema",
    "catalog_to_wire",
    "parameters_json_schema",
    "validate_catalog",
    "validate_parameters",
]
