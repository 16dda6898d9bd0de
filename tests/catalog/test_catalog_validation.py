"""validate_catalog: each OSB rule, and every problem reported at once."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import pytest
from marshmallow import Schema, fields

from openbroker_aliyun.catalog.model import Catalog, MaintenanceInfo, Plan, PlanSchemas, Service
from openbroker_aliyun.catalog.validation import CatalogError, validate_catalog


class Params(Schema):
    size = fields.Integer()


IN_PLAN = "service 'aliyun-rds-mysql', plan 'basic'"


def _plan(**changes: Any) -> Plan:
    base = Plan(id=str(uuid.uuid4()), name="basic", description="A plan")
    return dataclasses.replace(base, **changes)


def _service(*plans: Plan, **changes: Any) -> Service:
    base = Service(
        id=str(uuid.uuid4()),
        name="aliyun-rds-mysql",
        description="RDS for MySQL",
        bindable=True,
        plans=plans or (_plan(),),
    )
    return dataclasses.replace(base, **changes)


def _problems(catalog: Catalog) -> tuple[str, ...]:
    with pytest.raises(CatalogError) as caught:
        validate_catalog(catalog)
    assert str(caught.value).startswith("Invalid catalog:\n- ")
    return caught.value.problems


def test_a_complete_catalog_passes() -> None:
    plan = _plan(
        maintenance_info=MaintenanceInfo("1.2.3-rc.1+build.5", "Minor version upgrade"),
        maximum_polling_duration=3600,
        binding_rotatable=True,
        schemas=PlanSchemas(provision=Params, update=Params, bind=Params),
        metadata={"bullets": ["1 vCPU"], "costs": [{"amount": {"usd": 1.5}, "unit": "MONTHLY"}]},
        properties={"instance_class": "mysql.n1.micro.1", "anything": object()},
    )
    catalog = Catalog(
        services=(
            _service(
                plan,
                _plan(name="large"),
                requires=("syslog_drain",),
                dashboard_client={"id": "c", "secret": "s"},
            ),
            _service(_plan(name="basic"), name="aliyun-redis"),
        )
    )
    validate_catalog(catalog)


def test_empty_catalog_and_service_without_plans() -> None:
    assert _problems(Catalog(services=())) == ("the catalog has no services",)
    assert _problems(Catalog(services=(dataclasses.replace(_service(), plans=()),))) == (
        "service 'aliyun-rds-mysql': has no plans (at least one is required)",
    )


@pytest.mark.parametrize(
    "spelling",
    [
        lambda u: str(u),
        lambda u: str(u).upper(),
        lambda u: u.hex,
        lambda u: "{" + str(u) + "}",
        lambda u: u.urn,
    ],
    ids=["canonical", "upper", "hex", "braces", "urn"],
)
def test_any_uuid_spelling_is_a_guid(spelling: Any) -> None:
    validate_catalog(
        Catalog(services=(_service(_plan(id=spelling(uuid.uuid4())), id=spelling(uuid.uuid4())),))
    )


def test_ids_must_be_guids() -> None:
    problems = _problems(Catalog(services=(_service(_plan(id="plan-1"), id="rds"),)))
    assert problems == (
        "service 'aliyun-rds-mysql': id 'rds' is not a GUID (generate one with uuid.uuid4())",
        f"{IN_PLAN}: id 'plan-1' is not a GUID (generate one with uuid.uuid4())",
    )


def test_ids_are_unique_across_the_catalog() -> None:
    shared = str(uuid.uuid4())
    catalog = Catalog(services=(_service(_plan(id=shared)), _service(_plan(id=shared), name="aliyun-redis")))
    assert _problems(catalog) == (
        f"service 'aliyun-redis', plan 'basic': id '{shared}' is already used by {IN_PLAN}",
    )
    service_id = str(uuid.uuid4())
    catalog = Catalog(services=(_service(id=service_id), _service(id=service_id, name="aliyun-redis")))
    assert _problems(catalog) == (
        f"service 'aliyun-redis': id '{service_id}' is already used by service 'aliyun-rds-mysql'",
    )


def test_names_are_unique_and_non_empty() -> None:
    catalog = Catalog(
        services=(
            _service(_plan(), _plan(name="basic")),
            _service(),
            _service(_plan(name=" "), name=""),
        )
    )
    assert _problems(catalog) == (
        "service 'aliyun-rds-mysql', plan 'basic': plan name 'basic' is used twice in this service",
        "service 'aliyun-rds-mysql': service name 'aliyun-rds-mysql' is used by another service",
        "service #3: name must be a non-empty string",
        "service #3, plan ' ': name must be a non-empty string",
    )


@pytest.mark.parametrize("version", ["1.0", "v1.0.0", "01.0.0", "1.0.0-", "1.0.0+", "1.0.0-01", "", "1.0.0 "])
def test_maintenance_info_version_must_be_semver(version: str) -> None:
    problems = _problems(Catalog(services=(_service(_plan(maintenance_info=MaintenanceInfo(version))),)))
    assert problems == (f"{IN_PLAN}: maintenance_info.version {version!r} is not SemVer 2.0 (e.g. '1.0.0')",)


@pytest.mark.parametrize(
    "version", ["0.0.0", "1.2.3", "10.20.30-alpha.1", "1.0.0-0.3.7", "1.0.0+20130313144700"]
)
def test_semver_versions_pass(version: str) -> None:
    validate_catalog(Catalog(services=(_service(_plan(maintenance_info=MaintenanceInfo(version))),)))


def test_requires_is_limited_to_the_osb_values() -> None:
    problems = _problems(Catalog(services=(_service(requires=("volume_mount", "route_forward", "disk")),)))
    assert problems == (
        "service 'aliyun-rds-mysql': requires ['disk', 'route_forward'] not in "
        "['route_forwarding', 'syslog_drain', 'volume_mount']",
    )


@pytest.mark.parametrize("duration", [0, -5, True, 1.5])
def test_maximum_polling_duration_is_a_positive_integer(duration: Any) -> None:
    problems = _problems(Catalog(services=(_service(_plan(maximum_polling_duration=duration)),)))
    assert problems == (f"{IN_PLAN}: maximum_polling_duration must be a positive integer of seconds",)


def test_binding_features_need_a_bindable_plan() -> None:
    plan = _plan(binding_rotatable=True, schemas=PlanSchemas(bind=Params))
    assert _problems(Catalog(services=(_service(plan, bindable=False),))) == (
        "service 'aliyun-rds-mysql', plan 'basic': binding_rotatable is set but the plan is not bindable",
        "service 'aliyun-rds-mysql', plan 'basic': has a bind parameter schema but the plan is not bindable",
    )
    # The plan's bindable overrides the service's, both ways.
    validate_catalog(Catalog(services=(_service(dataclasses.replace(plan, bindable=True), bindable=False),)))
    assert len(_problems(Catalog(services=(_service(dataclasses.replace(plan, bindable=False)),)))) == 2


def test_parameter_schemas_must_be_publishable() -> None:
    class Money(Schema):
        amount = fields.Decimal()

    plan = _plan(schemas=PlanSchemas(provision=Money, update=Params, bind=Params()))  # type: ignore[arg-type]
    problems = _problems(Catalog(services=(_service(plan),)))
    assert problems[0] == (
        "service 'aliyun-rds-mysql', plan 'basic': provision parameters: "
        "Money.amount: Decimal loads to a non-JSON value; use Float or Integer"
    )
    assert problems[1].startswith("service 'aliyun-rds-mysql', plan 'basic': bind parameters: <")
    assert problems[1].endswith("is not a marshmallow Schema class")
    assert len(problems) == 2


def test_metadata_must_be_json_and_dashboard_client_complete() -> None:
    service = _service(
        _plan(metadata={"costs": {1.5}}),
        metadata={"displayName": "RDS", "when": object()},
        dashboard_client={"id": "client", "redirect_uri": "https://example.test"},
    )
    assert _problems(Catalog(services=(service,))) == (
        "service 'aliyun-rds-mysql': metadata must hold JSON values only",
        "service 'aliyun-rds-mysql': dashboard_client needs secret",
        "service 'aliyun-rds-mysql', plan 'basic': metadata must hold JSON values only",
    )


def test_all_problems_are_reported_together() -> None:
    bad_plan = _plan(
        id="nope",
        name="",
        maintenance_info=MaintenanceInfo("one"),
        maximum_polling_duration=0,
        binding_rotatable=True,
        bindable=False,
    )
    catalog = Catalog(
        services=(_service(bad_plan, id="x", requires=("magic",)), dataclasses.replace(_service(), plans=()))
    )
    problems = _problems(catalog)
    assert len(problems) == 9  # 7 in the first service; a duplicate name and no plans in the second
    message = str(CatalogError(list(problems)))
    for problem in problems:
        assert f"- {problem}" in message


def test_dashboard_secret_is_never_in_the_error() -> None:
    service = _service(dashboard_client={"id": "", "secret": "top-secret-value"}, id="bad")
    with pytest.raises(CatalogError) as caught:
        validate_catalog(Catalog(services=(service,)))
    assert "top-secret-value" not in str(caught.value)
