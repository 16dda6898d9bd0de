"""Fault injection (flags and admin API), call counting, and the admin views."""

from __future__ import annotations

from typing import Any, Callable

import pytest
import requests
from aliyunsdkcore.acs_exception.exceptions import ServerException
from emulator_sdk import MYSQL_INSTANCE, PASSWORD, REDIS_INSTANCE, Sdk, kv, rds

from openbroker_aliyun.emulator import EmulatorConfig, EmulatorServer, parse_fault_spec
from openbroker_aliyun.emulator.faults import FaultSpecError, parse_fault_json


def admin(
    server: EmulatorServer, method: str, path: str, body: Any = None, **kwargs: Any
) -> requests.Response:
    with requests.Session() as session:
        session.trust_env = False
        return session.request(method, f"{server.url}/_emulator/{path}", json=body, timeout=10, **kwargs)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Throttling:0.2",
            {"action": "*", "product": None, "kind": "Throttling", "seconds": 0.0, "rate": 0.2},
        ),
        (
            "CreateDBInstance=lost_response:once",
            {"action": "CreateDBInstance", "product": None, "sequence": ["lost_response"], "remaining": 1},
        ),
        (
            "rds/DescribeDBInstances=Throttling,ok,drop",
            {
                "action": "DescribeDBInstances",
                "product": "rds",
                "sequence": ["Throttling", "ok", "drop"],
                "remaining": 3,
            },
        ),
        (
            "r-kvstore/*=ServiceUnavailable:2x",
            {"action": "*", "product": "r-kvstore", "sequence": ["ServiceUnavailable"] * 2, "remaining": 2},
        ),
        (
            "DescribeInstances=latency@1.5:0.1",
            {"action": "DescribeInstances", "product": None, "kind": "latency", "seconds": 1.5, "rate": 0.1},
        ),
    ],
)
def test_fault_specs(text: str, expected: dict[str, Any]) -> None:
    assert parse_fault_spec(text).to_json() == expected


@pytest.mark.parametrize(
    "text",
    [
        "Throttling",
        "Boom:0.1",
        "Throttling:1.5",
        "ok:0.5",
        "latency:0.1",
        "latency@x:1",
        "ec2/Run=drop:once",
        "A-B=drop:once",
        "drop:often",
    ],
)
def test_bad_fault_specs_say_why(text: str) -> None:
    with pytest.raises(FaultSpecError) as caught:
        parse_fault_spec(text)
    assert str(caught.value)


def test_fault_json_objects() -> None:
    rule = parse_fault_json(
        {"action": "CreateAccount", "product": "rds", "kind": "ServiceUnavailable", "times": 2}
    )
    assert rule.to_json()["sequence"] == ["ServiceUnavailable", "ServiceUnavailable"]
    assert parse_fault_json({"kind": "latency", "seconds": 0.5, "rate": 1}).to_json()["seconds"] == 0.5
    seq = parse_fault_json({"sequence": ["ok", {"kind": "latency", "seconds": 0.1}]})
    assert seq.to_json()["sequence"] == ["ok", "latency@0.1"]
    for bad in (
        {"kind": "Throttling"},
        {"kind": "Throttling", "rate": "high"},
        {"sequence": "x"},
        {"color": 1},
        3,
    ):
        with pytest.raises(FaultSpecError):
            parse_fault_json(bad)


def _outcomes(sdk: Sdk, calls: int) -> list[str]:
    outcomes = []
    for _ in range(calls):
        try:
            sdk.call(rds("DescribeDBInstances"))
            outcomes.append("ok")
        except ServerException as exc:
            outcomes.append(exc.get_error_code())
    return outcomes


def test_rates_from_flags_are_reproducible_with_a_seed(serve: Callable[..., EmulatorServer]) -> None:
    runs = []
    for _ in range(2):
        server = serve(EmulatorConfig.instant(faults=[parse_fault_spec("Throttling:0.3")], fault_seed=7))
        runs.append(_outcomes(Sdk(server.url), 40))
        failed = runs[-1].count("Throttling")
        assert server.app.calls.count("DescribeDBInstances", outcome="Throttling") == failed
        assert server.app.calls.count("DescribeDBInstances") == 40
    assert runs[0] == runs[1]
    assert 0 < runs[0].count("Throttling") < 40


def test_scripted_sequence_through_the_admin_api(emulator: EmulatorServer, sdk: Sdk) -> None:
    rules = {"rules": ["rds/DescribeDBInstances=Throttling,ok,ServiceUnavailable,InternalError"]}
    assert admin(emulator, "PUT", "faults", rules).status_code == 200
    statuses = []
    for _ in range(5):
        try:
            sdk.call(rds("DescribeDBInstances"))
            statuses.append(("ok", 200))
        except ServerException as exc:
            statuses.append((exc.get_error_code(), exc.get_http_status()))
    assert statuses == [
        ("Throttling", 400),
        ("ok", 200),
        ("ServiceUnavailable", 503),
        ("InternalError", 500),
        ("ok", 200),
    ]
    [rule] = admin(emulator, "GET", "faults").json()["rules"]
    assert rule["remaining"] == 0
    # Other products and actions were never affected.
    sdk.call(kv("DescribeInstances"))
    counts = admin(emulator, "GET", "calls").json()
    described = counts["products"]["rds"]["actions"]["DescribeDBInstances"]
    assert described == {
        "total": 5,
        "outcomes": {"InternalError": 1, "ServiceUnavailable": 1, "Throttling": 1, "ok": 2},
    }
    assert counts["products"]["r-kvstore"]["total"] == 1 and counts["total"] == 6


def test_lost_response_performs_the_action(emulator: EmulatorServer, sdk: Sdk) -> None:
    admin(emulator, "POST", "faults", {"rules": ["CreateDBInstance=lost_response:once"]})
    error = sdk.error(rds("CreateDBInstance", ClientToken="t-1", **MYSQL_INSTANCE))
    assert (error.get_error_code(), error.get_http_status()) == ("ServiceUnavailable", 503)
    [instance] = admin(emulator, "GET", "instances").json()["rds"]
    # The retry with the same token finds the instance the lost response was about.
    assert (
        sdk.call(rds("CreateDBInstance", ClientToken="t-1", **MYSQL_INSTANCE))["DBInstanceId"]
        == instance["DBInstanceId"]
    )
    assert emulator.app.calls.count("CreateDBInstance", outcome="lost_response") == 1


def test_lost_response_drop_and_drop_are_transport_errors(emulator: EmulatorServer, sdk: Sdk) -> None:
    admin(emulator, "POST", "faults", {"rules": ["r-kvstore/CreateInstance=lost_response_drop,drop"]})
    first = sdk.client_error(kv("CreateInstance", **REDIS_INSTANCE))
    assert first.get_error_code() == "SDK.HttpError"
    assert len(admin(emulator, "GET", "instances").json()["r-kvstore"]) == 1  # performed
    second = sdk.client_error(kv("CreateInstance", **REDIS_INSTANCE))
    assert second.get_error_code() == "SDK.HttpError"
    assert len(admin(emulator, "GET", "instances").json()["r-kvstore"]) == 1  # not performed
    outcomes = emulator.app.calls.snapshot()["products"]["r-kvstore"]["actions"]["CreateInstance"]["outcomes"]
    assert outcomes == {"drop": 1, "lost_response_drop": 1}
    sdk.call(kv("CreateInstance", **REDIS_INSTANCE))  # the script is used up


def test_latency_delays_then_performs(emulator: EmulatorServer, sdk: Sdk) -> None:
    admin(
        emulator,
        "PUT",
        "faults",
        {"rules": [{"action": "DescribeDBInstances", "kind": "latency", "seconds": 0.05, "rate": 1}]},
    )
    assert sdk.call(rds("DescribeDBInstances"))["TotalRecordCount"] == 0
    assert emulator.app.calls.count("DescribeDBInstances", outcome="ok") == 1


def test_product_scoped_rules(emulator: EmulatorServer, sdk: Sdk) -> None:
    emulator.app.faults.add([parse_fault_spec("r-kvstore/CreateAccount=Throttling:1")])
    instance_id = sdk.call(rds("CreateDBInstance", **MYSQL_INSTANCE))["DBInstanceId"]
    sdk.call(rds("CreateAccount", DBInstanceId=instance_id, AccountName="app", AccountPassword=PASSWORD))
    redis_id = sdk.call(kv("CreateInstance", **REDIS_INSTANCE))["InstanceId"]
    error = sdk.error(kv("CreateAccount", InstanceId=redis_id, AccountName="app", AccountPassword=PASSWORD))
    assert error.get_error_code() == "Throttling"


def test_admin_api_management_and_bad_input(emulator: EmulatorServer, sdk: Sdk) -> None:
    added = admin(
        emulator,
        "POST",
        "faults",
        {"rules": ["Throttling:0.5", {"action": "DeleteAccount", "kind": "drop", "times": 1}], "seed": 3},
    )
    assert len(added.json()["rules"]) == 2
    assert len(admin(emulator, "POST", "faults", {"rules": ["InternalError:0.1"]}).json()["rules"]) == 3
    assert admin(emulator, "PUT", "faults", {"rules": []}).json() == {"rules": []}
    admin(emulator, "POST", "faults", {"rules": ["Throttling:1"]})
    assert admin(emulator, "DELETE", "faults").json() == {"rules": []}
    sdk.call(rds("DescribeDBInstances"))  # no fault left

    for body in ({"rules": ["Nope:1"]}, {"rules": "x"}, {"seed": "x"}, {"other": 1}, [1]):
        response = admin(emulator, "POST", "faults", body)
        assert response.status_code == 400 and response.json()["error"]
    not_json = admin(emulator, "POST", "faults", data="{", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400 and "JSON" in not_json.json()["error"]
    assert admin(emulator, "PATCH", "faults").status_code == 405
    assert admin(emulator, "GET", "faults").json() == {"rules": []}

    assert admin(emulator, "GET", "calls").json()["total"] == 1
    reset = admin(emulator, "DELETE", "calls").json()
    assert reset["total"] == 0 and reset["products"] == {}


def test_instances_view_never_shows_passwords(emulator: EmulatorServer, sdk: Sdk) -> None:
    instance_id = sdk.call(rds("CreateDBInstance", Tags=[{"Key": "osb", "Value": "1"}], **MYSQL_INSTANCE))[
        "DBInstanceId"
    ]
    sdk.call(rds("CreateAccount", DBInstanceId=instance_id, AccountName="app", AccountPassword=PASSWORD))
    sdk.call(rds("CreateDatabase", DBInstanceId=instance_id, DBName="orders", CharacterSetName="utf8"))
    sdk.call(
        rds(
            "GrantAccountPrivilege",
            DBInstanceId=instance_id,
            AccountName="app",
            DBName="orders",
            AccountPrivilege="ReadWrite",
        )
    )
    sdk.call(kv("CreateInstance", Password=PASSWORD, **REDIS_INSTANCE))
    view = admin(emulator, "GET", "instances")
    assert PASSWORD not in view.text
    [instance] = view.json()["rds"]
    assert instance["Accounts"] == [
        {"AccountName": "app", "AccountType": "Normal", "Privileges": {"orders": "ReadWrite"}}
    ]
    assert (instance["Databases"], instance["Tags"], instance["Backed"]) == (["orders"], {"osb": "1"}, False)
    assert view.json()["r-kvstore"][0]["InstanceStatus"] == "Normal"
