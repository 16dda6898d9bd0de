"""The RDS catalog: the shipped one loads with derived schemas; an operator's mistakes stop
the broker at start-up with every problem named, before anything is served."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from aliyun_brokers.rds.catalog import SHIPPED_CATALOG, load_rds_catalog

from openbroker_aliyun.catalog.params import validate_parameters
from openbroker_aliyun.catalog.validation import CatalogError
from openbroker_aliyun.errors import BadRequest


def _operator_catalog(tmp_path: Path, change: Any) -> Path:
    """The shipped catalog with ``change(data)`` applied, written where an operator would."""
    data = yaml.safe_load(SHIPPED_CATALOG.read_text())
    change(data)
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _first_plan(**properties: Any) -> Any:
    def change(data: dict[str, Any]) -> None:
        data["services"][0]["plans"][0]["properties"].update(properties)

    return change


def test_the_shipped_catalog_has_schemas_for_every_plan() -> None:
    catalog, plans = load_rds_catalog(user_zones=["cn-hangzhou-i"])
    assert [service.name for service in catalog.services] == ["aliyun-rds-mysql", "aliyun-rds-postgresql"]
    for service in catalog.services:
        for plan in service.plans:
            assert plans[plan.id].engine in ("MySQL", "PostgreSQL")
            assert plan.schemas.provision is not None and plan.schemas.update is not None
            loaded = validate_parameters(plan, "provision", {"zone_id": "cn-hangzhou-i"})
            assert loaded["engine_version"] == plans[plan.id].engine_versions[0]
            assert loaded["storage_gb"] == plans[plan.id].storage_gb
            with pytest.raises(BadRequest):
                validate_parameters(plan, "provision", {"zone_id": "cn-hangzhou-z"})


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_first_plan(engine="Oracle"), r"services\[0\]\.plans\[0\]\.properties\.engine"),
        (_first_plan(instance_clas="typo"), r"services\[0\]\.plans\[0\]\.properties\.instance_clas"),
        (_first_plan(storage_gb=22), r"multiples of 5"),
        (_first_plan(max_storage_gb=10), r"max_storage_gb must not be below storage_gb"),
        (
            _first_plan(engine="PostgreSQL"),
            r"services\[0\]: all plans of a service must have the same engine",
        ),
        (
            lambda data: data["services"][0]["plans"][0].update(schemas={"provision": "Anything"}),
            r"services\[0\]\.plans\[0\]\.schemas\.provision: unknown schema",
        ),
        (
            lambda data: data["services"][1].update(bindable=False),
            r"services\[1\]\.bindable: RDS services are bindable",
        ),
    ],
)
def test_operator_catalog_mistakes_stop_the_broker(tmp_path: Path, change: Any, expected: str) -> None:
    with pytest.raises(CatalogError) as caught:
        load_rds_catalog(_operator_catalog(tmp_path, change))
    assert re.search(expected, str(caught.value)), str(caught.value)


def test_every_mistake_is_listed_at_once(tmp_path: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        data["services"][0]["plans"][0]["properties"]["engine"] = "Oracle"
        data["services"][1]["plans"][0]["properties"]["storage_gb"] = 3
        data["services"][1]["bindable"] = False

    with pytest.raises(CatalogError) as caught:
        load_rds_catalog(_operator_catalog(tmp_path, change))
    problems = caught.value.problems
    assert any(p.startswith("services[0].plans[0].properties.engine") for p in problems)
    assert any(p.startswith("services[1].plans[0].properties.storage_gb") for p in problems)
    assert any(p.startswith("services[1].bindable") for p in problems)
