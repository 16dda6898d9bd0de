"""load_catalog / catalog_from_dict: YAML in the wire's words, typos caught with their path."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path
from typing import Any

import pytest
from marshmallow import Schema, fields

from openbroker_aliyun.catalog.loader import catalog_from_dict, load_catalog
from openbroker_aliyun.catalog.model import MaintenanceInfo, PlanSchemas
from openbroker_aliyun.catalog.validation import CatalogError
from openbroker_aliyun.catalog.wire import catalog_to_wire


class RdsProvisionParameters(Schema):
    storage_gb = fields.Integer(load_default=20)


class RdsUpdateParameters(Schema):
    storage_gb = fields.Integer()


class RdsBindParameters(Schema):
    read_only = fields.Boolean(load_default=False)


SCHEMAS: dict[str, type[Schema]] = {
    "RdsProvisionParameters": RdsProvisionParameters,
    "RdsUpdateParameters": RdsUpdateParameters,
    "RdsBindParameters": RdsBindParameters,
}

GOOD = textwrap.dedent(
    """\
    services:
      - id: 8a6c1d3e-0f5b-4c1e-9d7a-2b3c4d5e6f70
        name: aliyun-rds-mysql
        description: ApsaraDB RDS for MySQL
        bindable: true
        tags: [mysql, relational]
        requires: [syslog_drain]
        instances_retrievable: true
        bindings_retrievable: true
        allow_context_updates: true
        plan_updateable: true
        metadata:
          displayName: RDS for MySQL
          shareable: true
        dashboard_client:
          id: dashboard
          secret: dashboard-secret
          redirect_uri: https://dashboard.example.test
        plans:
          - id: 0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6
            name: basic
            description: 1 vCPU, 1 GiB
            free: false
            bindable: true
            plan_updateable: false
            binding_rotatable: true
            maximum_polling_duration: 3600
            maintenance_info:
              version: 1.0.0
              description: First release
            metadata:
              bullets: [1 vCPU, 1 GiB]
            schemas:
              provision: RdsProvisionParameters
              update: RdsUpdateParameters
              bind: RdsBindParameters
            properties:
              instance_class: mysql.n1.micro.1
              storage_type: cloud_essd
          - id: 1e2f3a4b-5c6d-4e7f-8091-a2b3c4d5e6f7
            name: minimal
            description: No extras
      - id: 2f3a4b5c-6d7e-4f80-91a2-b3c4d5e6f708
        name: aliyun-redis
        description: Redis
        bindable: false
        plans:
          - id: 3a4b5c6d-7e8f-4091-a2b3-c4d5e6f70819
            name: basic
            description: 1 GiB
    """
)


def test_a_full_yaml_catalog(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(GOOD)
    catalog = load_catalog(path, schemas=SCHEMAS)
    rds, redis = catalog.services
    assert rds.name == "aliyun-rds-mysql" and rds.bindable is True
    assert rds.tags == ("mysql", "relational") and rds.requires == ("syslog_drain",)
    assert (
        rds.instances_retrievable
        and rds.bindings_retrievable
        and rds.allow_context_updates
        and rds.plan_updateable
    )
    assert rds.metadata == {"displayName": "RDS for MySQL", "shareable": True}
    assert rds.dashboard_client == {
        "id": "dashboard",
        "secret": "dashboard-secret",
        "redirect_uri": "https://dashboard.example.test",
    }
    basic, minimal = rds.plans
    assert basic.free is False and basic.bindable is True and basic.plan_updateable is False
    assert basic.binding_rotatable is True and basic.maximum_polling_duration == 3600
    assert basic.maintenance_info == MaintenanceInfo("1.0.0", "First release")
    assert basic.schemas == PlanSchemas(
        provision=RdsProvisionParameters, update=RdsUpdateParameters, bind=RdsBindParameters
    )
    assert basic.properties == {"instance_class": "mysql.n1.micro.1", "storage_type": "cloud_essd"}
    assert basic.metadata == {"bullets": ["1 vCPU", "1 GiB"]}
    # Model defaults where the YAML says nothing.
    assert minimal.free is True and minimal.bindable is None and minimal.schemas == PlanSchemas()
    assert minimal.maintenance_info is None and minimal.properties == {}
    assert redis.tags == () and redis.bindable is False


def test_sources_path_string_and_stream_agree(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(GOOD)
    from_path = load_catalog(path, schemas=SCHEMAS)
    assert load_catalog(str(path), schemas=SCHEMAS) == from_path
    assert load_catalog(io.StringIO(GOOD), schemas=SCHEMAS) == from_path


def test_yaml_reads_like_the_wire_json() -> None:
    wire = catalog_to_wire(load_catalog(io.StringIO(GOOD), schemas=SCHEMAS))
    plan = wire["services"][0]["plans"][0]
    assert plan["maintenance_info"] == {"version": "1.0.0", "description": "First release"}
    assert set(plan["schemas"]) == {"service_instance", "service_binding"}
    assert "properties" not in plan


def _problems(data: Any, schemas: dict[str, type[Schema]] | None = None) -> tuple[str, ...]:
    with pytest.raises(CatalogError) as caught:
        catalog_from_dict(data, schemas=schemas if schemas is not None else SCHEMAS)
    return caught.value.problems


def _one_service(**plan_changes: Any) -> dict[str, Any]:
    plan = {"id": "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6", "name": "basic", "description": "d", **plan_changes}
    return {
        "services": [
            {
                "id": "8a6c1d3e-0f5b-4c1e-9d7a-2b3c4d5e6f70",
                "name": "s",
                "description": "d",
                "bindable": True,
                "plans": [plan],
            }
        ]
    }


def test_a_typo_names_its_path() -> None:
    assert _problems(_one_service(plan_updatable=True)) == (
        "services[0].plans[0].plan_updatable: Unknown field.",
    )
    data = _one_service()
    data["services"][0]["tag"] = ["x"]
    assert _problems(data) == ("services[0].tag: Unknown field.",)
    assert set(_problems({"service": []})) == {
        "service: Unknown field.",
        "services: Missing data for required field.",
    }


def test_missing_required_keys_and_wrong_types_all_reported() -> None:
    data = _one_service(maximum_polling_duration="1h", free="yes", maintenance_info={"description": "x"})
    del data["services"][0]["plans"][0]["name"]
    data["services"][0]["bindable"] = "true"
    problems = _problems(data)
    assert set(problems) == {
        "services[0].bindable: Not a valid boolean.",
        "services[0].plans[0].name: Missing data for required field.",
        "services[0].plans[0].free: Not a valid boolean.",
        "services[0].plans[0].maximum_polling_duration: Not a valid integer.",
        "services[0].plans[0].maintenance_info.version: Missing data for required field.",
    }


def test_ids_written_as_numbers_are_rejected() -> None:
    data = _one_service(id=12345)
    assert _problems(data) == ("services[0].plans[0].id: Not a valid string.",)


def test_unknown_schema_names_are_reported() -> None:
    assert _problems(_one_service(schemas={"provision": "RdsProvisionParams"})) == (
        "services[0].plans[0].schemas.provision: unknown schema 'RdsProvisionParams' "
        "(known: RdsBindParameters, RdsProvisionParameters, RdsUpdateParameters)",
    )
    assert _problems(_one_service(schemas={"bind": "X"}), schemas={}) == (
        "services[0].plans[0].schemas.bind: unknown schema 'X' (known: none were given)",
    )
    assert _problems(_one_service(schemas={"create": "RdsProvisionParameters"})) == (
        "services[0].plans[0].schemas.create: Unknown field.",
    )


def test_not_a_mapping() -> None:
    assert _problems(["services"]) == ("(catalog): Invalid input type.",)
    assert _problems(None) == ("services: Missing data for required field.",)


def test_yaml_syntax_errors_give_the_place_but_not_the_line() -> None:
    text = "services:\n  - id: x\n    dashboard_client: {id: a, secret: hunter2-secret\n"
    with pytest.raises(CatalogError) as caught:
        load_catalog(io.StringIO(text))
    message = str(caught.value)
    assert "YAML syntax error at line" in message
    assert "hunter2-secret" not in message


def test_validation_runs_unless_turned_off() -> None:
    text = GOOD.replace("0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6", "plan-basic")
    with pytest.raises(CatalogError, match="'plan-basic' is not a GUID"):
        load_catalog(io.StringIO(text), schemas=SCHEMAS)
    catalog = load_catalog(io.StringIO(text), schemas=SCHEMAS, validate=False)
    assert catalog.services[0].plans[0].id == "plan-basic"


def test_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_catalog(tmp_path / "nope.yaml")
