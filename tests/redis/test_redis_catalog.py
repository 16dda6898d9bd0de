"""The Redis catalog: what platforms read, the published schemas, and operator catalogs refused."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from aliyun_brokers.redis.catalog import SHIPPED_CATALOG, load_redis_catalog
from aliyun_brokers.redis.cloud import KVSTORE_ACTIONS
from aliyun_brokers.redis.plans import has_accounts, has_acl_auth

from openbroker_aliyun.catalog.params import validate_parameters
from openbroker_aliyun.catalog.validation import CatalogError
from openbroker_aliyun.catalog.wire import catalog_to_wire
from openbroker_aliyun.errors import BadRequest

# Platforms know services and plans by id only: these must never change.
STABLE_IDS = {
    "aliyun-redis": "65061582-0b5c-4111-88c8-10b6bdb2ff3b",
    "standard-256mb": "4cc75cca-fccb-4d58-8733-58c1752c2e29",
    "standard-1gb": "04deeb08-cf1c-4592-a4cf-8f42800f06c6",
    "standard-4gb": "63962a9a-9d80-4a15-9000-17424ea51dde",
    "cluster-4gb": "ec043038-a3ac-406e-83d1-4fbc1df8ba28",
    "cluster-8gb": "2565b582-3e7b-489b-b142-7d97e9ff2f1d",
}


def _wire(**kwargs: Any) -> dict[str, Any]:
    catalog, _ = load_redis_catalog(**kwargs)
    wire = catalog_to_wire(catalog)
    return wire if isinstance(wire, dict) else {"services": wire}


def test_the_offering_as_platforms_see_it() -> None:
    [service] = _wire()["services"]
    assert service["id"] == STABLE_IDS["aliyun-redis"] and service["name"] == "aliyun-redis"
    assert "redis" in service["tags"]
    assert service["bindable"] is True
    assert service["instances_retrievable"] is True and service["bindings_retrievable"] is True
    assert service["plan_updateable"] is True
    assert {plan["name"]: plan["id"] for plan in service["plans"]} == {
        name: guid for name, guid in STABLE_IDS.items() if name != "aliyun-redis"
    }
    for plan in service["plans"]:
        assert plan["binding_rotatable"] is True
        assert "properties" not in plan  # broker-private
        provision = plan["schemas"]["service_instance"]["create"]["parameters"]
        assert provision["properties"]["engine_version"]["enum"] == ["7.0", "6.0", "5.0"]
        assert {"security_ips", "tls"} <= set(provision["properties"])
        assert "zone_id" not in provision["properties"]  # the operator lets no user choose
        bind = plan["schemas"]["service_binding"]["create"]["parameters"]
        assert set(bind["properties"]) == {"read_only"}
        update = plan["schemas"]["service_instance"]["update"]["parameters"]
        assert {"security_ips", "tls"} <= set(update["properties"])


def test_zone_choice_is_published_only_when_the_operator_allows_it() -> None:
    [service] = _wire(user_zones=["cn-hangzhou-i", "cn-hangzhou-j"])["services"]
    provision = service["plans"][0]["schemas"]["service_instance"]["create"]["parameters"]
    assert provision["properties"]["zone_id"]["enum"] == ["cn-hangzhou-i", "cn-hangzhou-j"]


def test_published_parameters_are_enforced() -> None:
    catalog, _ = load_redis_catalog()
    plan = catalog.services[0].plans[0]
    assert validate_parameters(plan, "provision", {}) == {
        "engine_version": "7.0",
        "security_ips": [],
        "tls": False,
    }
    assert validate_parameters(plan, "bind", None) == {"read_only": False}
    assert validate_parameters(plan, "bind", {"read_only": True}) == {"read_only": True}
    for operation, bad in [
        ("provision", {"engine_version": "4.0"}),
        ("provision", {"security_ips": "10.0.0.1"}),
        ("provision", {"security_ips": ["10.0.0.1"] * 101}),
        ("bind", {"read_only": "yes please"}),
        ("bind", {"role": "admin"}),
        ("update", {"tls": "on-ish"}),
    ]:
        with pytest.raises(BadRequest):
            validate_parameters(plan, operation, bad)  # type: ignore[arg-type]


def _operator_catalog(tmp_path: Path, plan_changes: dict[str, Any], drop: tuple[str, ...] = ()) -> Path:
    data = yaml.safe_load(SHIPPED_CATALOG.read_text())
    plan = data["services"][0]["plans"][0]
    for key in drop:
        plan["properties"].pop(key)
    for key, value in plan_changes.items():
        if key == "properties":
            plan["properties"].update(value)
        else:
            plan[key] = value
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("changes", "drop", "expected"),
    [
        ({"properties": {"engine_versions": ["2.8"]}}, (), "set `bindable: false`"),
        ({"properties": {"engine_versions": ["5.0", "2.8"]}}, (), "mixes versions"),
        ({"properties": {"capacity_mb": 1024}}, (), "exactly one of instance_class and capacity_mb"),
        ({"properties": {"architecture": "cluster"}}, (), "shard_count is required"),
        ({"properties": {"shard_count": 4}}, (), "shard_count is required"),
        ({"properties": {"node_type": "TRIPLE"}}, (), "properties.node_type"),
        ({"properties": {"instance_clas": "typo"}}, (), "properties.instance_clas"),
        ({"properties": {"engine_versions": ["seven"]}}, (), "properties.engine_versions"),
        ({"schemas": {"provision": "Anything"}}, (), "schemas"),
    ],
)
def test_operator_catalog_mistakes_stop_the_broker(
    tmp_path: Path, changes: dict[str, Any], drop: tuple[str, ...], expected: str
) -> None:
    with pytest.raises(CatalogError) as caught:
        load_redis_catalog(_operator_catalog(tmp_path, changes, drop))
    assert expected in str(caught.value)
    assert re.search(r"services\[0\]\.plans\[0\]", str(caught.value))


def test_a_plan_without_accounts_must_say_it_is_not_bindable(tmp_path: Path) -> None:
    changes = {"bindable": False, "binding_rotatable": False, "properties": {"engine_versions": ["2.8"]}}
    path = _operator_catalog(tmp_path, changes)
    catalog, plans = load_redis_catalog(path)
    plan = catalog.services[0].plans[0]
    assert plan.bindable is False and plan.schemas.bind is None
    assert not plans[plan.id].accounts


def test_a_plan_sized_by_capacity(tmp_path: Path) -> None:
    path = _operator_catalog(tmp_path, {"properties": {"capacity_mb": 2048}}, drop=("instance_class",))
    _, plans = load_redis_catalog(path)
    sized = plans[STABLE_IDS["standard-256mb"]]
    assert sized.capacity_mb == 2048 and sized.instance_class is None


def test_engine_version_facts() -> None:
    assert not has_accounts("2.8") and has_accounts("4.0") and has_accounts("7.0")
    assert not has_acl_auth("5.0") and has_acl_auth("6.0") and has_acl_auth("7.0")


def test_the_documentation_names_every_plan_parameter_and_permitted_action() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "redis.md").read_text(encoding="utf-8")
    for plan in load_redis_catalog()[0].services[0].plans:
        assert f"| `{plan.name}` |" in page
    for parameter in ("engine_version", "zone_id", "security_ips", "tls", "read_only"):
        assert f"| `{parameter}` |" in page
    policy = json.loads(page.split("```json\n", 1)[1].split("```", 1)[0])
    [statement] = policy["Statement"]
    assert sorted(statement["Action"]) == sorted(f"kvstore:{action}" for action in KVSTORE_ACTIONS)
