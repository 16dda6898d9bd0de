"""The RDS docs stay true to the code: RAM policy, settings table, parameters, plans."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from aliyun_brokers.rds.catalog import load_rds_catalog
from aliyun_brokers.rds.cloud import RDS_ACTIONS
from aliyun_brokers.rds.settings import RdsSettings

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_ram_policy_allows_exactly_the_actions_the_broker_calls() -> None:
    policy = json.loads((DOCS / "ram-policy.json").read_text())
    [statement] = policy["Statement"]
    assert statement["Effect"] == "Allow"
    assert sorted(statement["Action"]) == sorted(f"rds:{action}" for action in RDS_ACTIONS)
    rds_page = (DOCS / "rds.md").read_text()
    for action in RDS_ACTIONS:
        assert f"`{action}`" in rds_page


def test_every_setting_is_in_the_configuration_table() -> None:
    page = (DOCS / "configuration.md").read_text()
    for spec in dataclasses.fields(RdsSettings):
        assert f"`{spec.name}`" in page, spec.name
        env = spec.metadata.get("env")
        if env:
            assert f"`{env}`" in page, env


def test_every_parameter_and_plan_is_documented() -> None:
    page = (DOCS / "rds.md").read_text()
    catalog, _ = load_rds_catalog(user_zones=["zone-a"])
    for service in catalog.services:
        assert f"`{service.name}`" in page
        for plan in service.plans:
            assert f"`{plan.name}`" in page
            for schema in (plan.schemas.provision, plan.schemas.update):
                assert schema is not None
                for field in schema().load_fields:
                    assert f"`{field}`" in page, field
