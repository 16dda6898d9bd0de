"""catalog_to_wire: OSB field names, omissions, schemas, and the OSB OpenAPI documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft4Validator, Draft7Validator
from marshmallow import Schema, fields, validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4, DRAFT7

from openbroker_aliyun.catalog.model import Catalog, MaintenanceInfo, Plan, PlanSchemas, Service
from openbroker_aliyun.catalog.validation import validate_catalog
from openbroker_aliyun.catalog.wire import catalog_to_wire

OSB = Path("/work/shared/osb")


class Provision(Schema):
    storage_gb = fields.Integer(load_default=20, validate=validate.Range(min=20, max=6000))


class Update(Schema):
    storage_gb = fields.Integer(required=True, validate=validate.Range(min=20, max=6000))


class Bind(Schema):
    read_only = fields.Boolean(load_default=False)


FULL_PLAN = Plan(
    id="3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f",
    name="ha",
    description="High availability",
    free=False,
    bindable=True,
    plan_updateable=True,
    binding_rotatable=True,
    maximum_polling_duration=7200,
    maintenance_info=MaintenanceInfo("2.0.0", "Engine minor upgrade; a short switchover"),
    schemas=PlanSchemas(provision=Provision, update=Update, bind=Bind),
    metadata={
        "displayName": "HA",
        "bullets": ["2 nodes"],
        "costs": [{"amount": {"usd": 9.5}, "unit": "MONTHLY"}],
    },
    properties={"instance_class": "mysql.n2.medium.2c", "master_password_hint": "never-published"},
)
BARE_PLAN = Plan(id="9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a", name="basic", description="Basic")
SERVICE = Service(
    id="0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
    name="aliyun-rds-mysql",
    description="ApsaraDB RDS for MySQL",
    bindable=True,
    plans=(FULL_PLAN, BARE_PLAN),
    tags=("mysql", "relational"),
    requires=("syslog_drain",),
    instances_retrievable=True,
    bindings_retrievable=True,
    allow_context_updates=True,
    plan_updateable=True,
    metadata={"displayName": "RDS MySQL", "shareable": True},
    dashboard_client={"id": "dash", "secret": "dash-secret", "redirect_uri": "https://dash.example.test"},
)
BARE_SERVICE = Service(
    id="7e6d5c4b-3a29-4817-9605-f4e3d2c1b0a9",
    name="aliyun-redis",
    description="Redis",
    bindable=False,
    plans=(Plan(id="1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", name="basic", description="Basic"),),
)
CATALOG = Catalog(services=(SERVICE, BARE_SERVICE))


def test_service_and_plan_fields() -> None:
    validate_catalog(CATALOG)
    wire = catalog_to_wire(CATALOG)
    service = wire["services"][0]
    assert {key: value for key, value in service.items() if key != "plans"} == {
        "id": SERVICE.id,
        "name": "aliyun-rds-mysql",
        "description": "ApsaraDB RDS for MySQL",
        "bindable": True,
        "instances_retrievable": True,
        "bindings_retrievable": True,
        "allow_context_updates": True,
        "plan_updateable": True,
        "tags": ["mysql", "relational"],
        "requires": ["syslog_drain"],
        "metadata": {"displayName": "RDS MySQL", "shareable": True},
        "dashboard_client": {
            "id": "dash",
            "secret": "dash-secret",
            "redirect_uri": "https://dash.example.test",
        },
    }
    plan = service["plans"][0]
    assert {key: value for key, value in plan.items() if key != "schemas"} == {
        "id": FULL_PLAN.id,
        "name": "ha",
        "description": "High availability",
        "free": False,
        "bindable": True,
        "plan_updateable": True,
        "binding_rotatable": True,
        "maximum_polling_duration": 7200,
        "maintenance_info": {"version": "2.0.0", "description": "Engine minor upgrade; a short switchover"},
        "metadata": FULL_PLAN.metadata,
    }


def test_unset_fields_are_left_out() -> None:
    wire = catalog_to_wire(CATALOG)
    assert wire["services"][0]["plans"][1] == {
        "id": BARE_PLAN.id,
        "name": "basic",
        "description": "Basic",
        "free": True,
    }
    bare = wire["services"][1]
    assert set(bare) == {
        "id",
        "name",
        "description",
        "bindable",
        "instances_retrievable",
        "bindings_retrievable",
        "allow_context_updates",
        "plan_updateable",
        "plans",
    }


def test_private_plan_properties_are_never_published() -> None:
    text = json.dumps(catalog_to_wire(CATALOG))
    assert 'properties": {"instance_class' not in text
    assert "mysql.n2.medium.2c" not in text
    assert "never-published" not in text


def test_schemas_are_nested_as_osb_wants() -> None:
    schemas = catalog_to_wire(CATALOG)["services"][0]["plans"][0]["schemas"]
    assert set(schemas) == {"service_instance", "service_binding"}
    create = schemas["service_instance"]["create"]["parameters"]
    update = schemas["service_instance"]["update"]["parameters"]
    bind = schemas["service_binding"]["create"]["parameters"]
    for published in (create, update, bind):
        assert published["$schema"] == "http://json-schema.org/draft-04/schema#"
        Draft4Validator.check_schema(published)
    assert create["properties"]["storage_gb"]["default"] == 20
    assert "required" not in update  # update parameters load partially
    assert bind["properties"]["read_only"] == {"type": "boolean", "default": False}


@pytest.mark.parametrize(
    ("schemas", "expected"),
    [
        (PlanSchemas(provision=Provision), {"service_instance": {"create"}}),
        (PlanSchemas(update=Update), {"service_instance": {"update"}}),
        (PlanSchemas(bind=Bind), {"service_binding": {"create"}}),
    ],
)
def test_only_present_schemas_are_published(schemas: PlanSchemas, expected: dict[str, set[str]]) -> None:
    plan = Plan(id=BARE_PLAN.id, name="p", description="d", schemas=schemas)
    catalog = Catalog(
        services=(Service(id=SERVICE.id, name="s", description="d", bindable=True, plans=(plan,)),)
    )
    published = catalog_to_wire(catalog)["services"][0]["plans"][0]["schemas"]
    assert {key: set(value) for key, value in published.items()} == expected


def test_output_is_plain_json() -> None:
    wire = catalog_to_wire(CATALOG)
    assert json.loads(json.dumps(wire)) == wire


def _component_validator(document: Path, pointer: str) -> Draft4Validator | Draft7Validator:
    spec: dict[str, Any] = yaml.safe_load(document.read_text())
    spec_for = DRAFT7 if "openapi" in spec else DRAFT4
    registry: Registry[Any] = Registry().with_resource(
        "urn:osb", Resource(contents=spec, specification=spec_for)
    )
    cls = Draft7Validator if "openapi" in spec else Draft4Validator
    return cls({"$ref": f"urn:osb#{pointer}"}, registry=registry)


@pytest.mark.skipif(not OSB.exists(), reason="the OSB OpenAPI documents are not on this machine")
def test_valid_against_the_osb_openapi_catalog_schema() -> None:
    validator = _component_validator(OSB / "openapi.yaml", "/components/schemas/Catalog")
    wire = catalog_to_wire(CATALOG)
    errors = list(validator.iter_errors(wire))
    assert errors == []
    # The validator does bite: a service without plans is not a Catalog.
    broken = {"services": [{key: value for key, value in wire["services"][0].items() if key != "plans"}]}
    assert not validator.is_valid(broken)


@pytest.mark.skipif(not OSB.exists(), reason="the OSB OpenAPI documents are not on this machine")
def test_valid_against_swagger_and_uses_only_declared_fields() -> None:
    spec = yaml.safe_load((OSB / "swagger.yaml").read_text())
    validator = _component_validator(OSB / "swagger.yaml", "/definitions/Catalog")
    wire = catalog_to_wire(CATALOG)
    assert list(validator.iter_errors(wire)) == []
    service_fields = set(spec["definitions"]["Service"]["properties"])
    plan_fields = set(spec["definitions"]["Plan"]["properties"])
    for service in wire["services"]:
        assert set(service) <= service_fields
        for plan in service["plans"]:
            assert set(plan) <= plan_fields
