"""A broker's whole lifecycle driven step by step, with what every step wrote and sent.

``journal(...)`` runs provision, update, bind, unbind and deprovision of one OSB instance
by calling the broker's step methods directly (as the engine's driver does), against the
project's emulator over loopback through the real V1 SDK transport. After every step it
notes the step's result, the instance's (or binding's) ``details`` exactly as the broker
left them, and every Alibaba call the step made. Ids and the broker id are fixed, and the
broker's clock is moved by hand, so two runs of the same code give the same journal up to
the cloud's own ids, generated passwords and timestamps, which ``normalised`` replaces.

tests/brokers_common/data/*.json hold journals written by the release before the typed
cloud boundary (``PYTHONPATH=tests python tests/brokers_common/step_journal.py``, with
PostgreSQL on 127.0.0.1 for the shared-ownership scenario): the state a running broker
may have stored, and the calls it made. Generated passwords are stored as ``PASSWORD``.
Keep them as written: journals made again by a later release would test nothing.
"""

from __future__ import annotations

import copy
import json
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import broker_harness
from aliyun_brokers.common.settings import CloudBrokerSettings
from aliyun_brokers.rds.broker import RdsBroker
from aliyun_brokers.rds.catalog import load_rds_catalog
from aliyun_brokers.rds.settings import RdsSettings
from aliyun_brokers.redis.broker import RedisBroker
from aliyun_brokers.redis.catalog import load_redis_catalog

from openbroker_aliyun.aliyun.port import Product
from openbroker_aliyun.broker import Bound, Done, InProgress, ServiceBroker
from openbroker_aliyun.catalog.params import validate_parameters
from openbroker_aliyun.domain import (
    BindingOperation,
    BindingRecord,
    InstanceOperation,
    InstanceRecord,
    OperationKind,
)

DATA = Path(__file__).parent / "data"
KEY_ID, KEY_SECRET = "journal-key", "journal-SECRET-1a2b3c4d"
BROKER_ID = "journal-broker"
INSTANCE_ID = "6f1c2a9e-0000-4000-8000-000000000001"
BINDING_ID = "6f1c2a9e-0000-4000-8000-000000000002"
#: Generated passwords are replaced by this in stored journals (same type, no secret).
PASSWORD = "Journal-Passw0rd"
#: Steps of one operation, at most (each waits at most one describe interval).
MAX_STEPS = 40


@dataclass(frozen=True)
class Scenario:
    """One lifecycle: a service's plan, then an update to ``update_plan`` with ``update_parameters``."""

    name: str
    product: Product
    service: str
    plan: str
    provision_parameters: Mapping[str, Any]
    update_plan: str
    update_parameters: Mapping[str, Any]
    #: Whether the emulator's RDS instances must be real databases (PostgreSQL shared ownership).
    backed: bool = False


SCENARIOS = {
    s.name: s
    for s in (
        Scenario(
            "rds-mysql",
            "rds",
            "aliyun-rds-mysql",
            "basic-small",
            {"tls": True, "security_ips": ["10.1.0.0/16"]},
            "basic-medium",
            {"tls": False, "storage_gb": 40, "security_ips": ["10.2.0.0/16"]},
        ),
        Scenario(
            "rds-postgresql",
            "rds",
            "aliyun-rds-postgresql",
            "basic-small",
            {"database_name": "journal_db"},
            "basic-small",
            {"security_ips": ["10.3.0.0/16"]},
            backed=True,
        ),
        Scenario(
            "redis",
            "r-kvstore",
            "aliyun-redis",
            "standard-1gb",
            {"tls": True},
            "standard-4gb",
            {"tls": False, "security_ips": ["10.4.0.0/16"]},
        ),
        Scenario("redis-cluster", "r-kvstore", "aliyun-redis", "cluster-4gb", {}, "cluster-8gb", {}),
    )
}


class Clock:
    """The broker's monotonic clock, moved by hand past each describe interval."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class JournalPort:
    """The real transport, noting every call a step makes."""

    inner: Any
    calls: list[dict[str, Any]] = field(default_factory=list)

    def call(
        self, product: Product, action: str, params: Mapping[str, Any], *, idempotent: bool = False
    ) -> dict[str, Any]:
        self.calls.append({"action": action, "params": copy.deepcopy(dict(params)), "idempotent": idempotent})
        return self.inner.call(product, action, params, idempotent=idempotent)


def _result(result: Any) -> dict[str, Any]:
    if isinstance(result, InProgress):
        return {"kind": "in progress", "description": result.description}
    if isinstance(result, Done):
        metadata = dict(result.metadata.attributes) if result.metadata is not None else None
        return {"kind": "done", "description": result.description, "metadata": metadata}
    assert isinstance(result, Bound), result
    return {"kind": "bound", "credential_keys": sorted(result.credentials)}


def _broker(scenario: Scenario, url: str, state_dir: str, port: JournalPort, clock: Clock) -> ServiceBroker:
    settings_class = RdsSettings if scenario.product == "rds" else CloudBrokerSettings
    settings = broker_harness.settings_for_tests(
        settings_class,
        url,
        state_dir,
        key_id=KEY_ID,
        key_secret=KEY_SECRET,
        broker_id=BROKER_ID,
        refresh_seconds=5.0,
    )
    port.inner = broker_harness.fast_transport(settings)
    if scenario.product == "rds":
        return RdsBroker(settings, port, clock=clock)
    return RedisBroker(settings, port, clock=clock)


def _plans(scenario: Scenario) -> tuple[str, Any, Any]:
    catalog = (load_rds_catalog() if scenario.product == "rds" else load_redis_catalog())[0]
    service = next(s for s in catalog.services if s.name == scenario.service)
    plans = {plan.name: plan for plan in service.plans}
    return service.id, plans[scenario.plan], plans[scenario.update_plan]


def journal(scenario: Scenario, emulator_overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Drive ``scenario`` from provision to deprovision; the journal of every operation's steps."""
    with (
        broker_harness.emulator(scenario.product, KEY_ID, KEY_SECRET, **(emulator_overrides or {})) as cloud,
        tempfile.TemporaryDirectory(prefix="journal-") as state_dir,
    ):
        port, clock = JournalPort(None), Clock()
        broker = _broker(scenario, cloud.url, state_dir, port, clock)
        service_id, plan, new_plan = _plans(scenario)
        instance = InstanceRecord(id=INSTANCE_ID, service_id=service_id, plan_id=plan.id)
        binding = BindingRecord(
            id=BINDING_ID, instance_id=INSTANCE_ID, service_id=service_id, plan_id=plan.id
        )

        def run(name: str, step: Callable[[], Any], details: Callable[[], dict[str, Any]]) -> list[Any]:
            entries = []
            for _ in range(MAX_STEPS):
                port.calls.clear()
                result = step()
                entries.append(
                    {
                        "result": _result(result),
                        "details": copy.deepcopy(details()),
                        "calls": list(port.calls),
                    }
                )
                if not isinstance(result, InProgress):
                    return entries
                clock.now += 5.0  # the next describe interval: the cloud has news
            raise AssertionError(f"{scenario.name} {name} did not finish")

        provision = InstanceOperation(
            id="op-provision",
            kind=OperationKind.PROVISION,
            instance=instance,
            plan_id=plan.id,
            parameters=validate_parameters(plan, "provision", dict(scenario.provision_parameters)),
        )
        out: dict[str, Any] = {}
        out["provision"] = run("provision", lambda: broker.provision(provision), lambda: instance.details)
        instance.parameters = provision.parameters
        update = InstanceOperation(
            id="op-update",
            kind=OperationKind.UPDATE,
            instance=instance,
            plan_id=new_plan.id,
            previous_plan_id=plan.id,
            parameters=validate_parameters(new_plan, "update", dict(scenario.update_parameters)),
        )
        out["update"] = run("update", lambda: broker.update(update), lambda: instance.details)
        instance.plan_id = new_plan.id
        bind = BindingOperation(
            id="op-bind", kind=OperationKind.BIND, instance=instance, binding=binding,
            parameters=validate_parameters(new_plan, "bind", {}),
        )  # fmt: skip
        out["bind"] = run("bind", lambda: broker.bind(bind), lambda: binding.details)
        unbind = BindingOperation(
            id="op-unbind", kind=OperationKind.UNBIND, instance=instance, binding=binding
        )
        out["unbind"] = run("unbind", lambda: broker.unbind(unbind), lambda: binding.details)
        deprovision = InstanceOperation(
            id="op-deprovision", kind=OperationKind.DEPROVISION, instance=instance, plan_id=new_plan.id
        )
        out["deprovision"] = run(
            "deprovision", lambda: broker.deprovision(deprovision), lambda: instance.details
        )
        return _redacted(out)


_PASSWORD_KEYS = frozenset({"password", "manager_password", "Password", "AccountPassword"})


def _redacted(value: Any, key: str | None = None) -> Any:
    """Generated passwords replaced by ``PASSWORD`` (keeps the type; no secret stored)."""
    if isinstance(value, dict):
        return {k: _redacted(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return PASSWORD if key in _PASSWORD_KEYS and isinstance(value, str) else value


def cloud_ids(entries: Any) -> set[str]:
    """The cloud's own instance ids in a journal (they differ from run to run)."""
    found: set[str] = set()
    if isinstance(entries, dict):
        for key, value in entries.items():
            if key in ("db_instance_id", "instance_id", "DBInstanceId", "InstanceId") and isinstance(
                value, str
            ):
                found.add(value)
            found |= cloud_ids(value)
    elif isinstance(entries, list):
        for value in entries:
            found |= cloud_ids(value)
    return found


def normalised(value: Any, ids: set[str] | None = None, key: str | None = None) -> Any:
    """``value`` with what differs between runs replaced by placeholders of its type:
    cloud ids, timestamps, and strings that embed them (descriptions, the SSL endpoint)."""
    if ids is None:
        ids = cloud_ids(value)
    if isinstance(value, dict):
        return {k: normalised(v, ids, k) for k, v in value.items()}
    if isinstance(value, list):
        return [normalised(v, ids) for v in value]
    if key == "created_at":
        return f"<{type(value).__name__}>"
    if isinstance(value, str):
        for cloud_id in ids:
            value = value.replace(cloud_id, "<cloud-id>")
    return value


def stored_journal(name: str) -> dict[str, Any]:
    """The journal the release before the typed boundary wrote for scenario ``name``."""
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))


def _write(name: str, postgres_url: str | None) -> None:
    scenario = SCENARIOS[name]
    overrides = {"postgres_url": postgres_url} if scenario.backed else {}
    DATA.mkdir(exist_ok=True)
    text = json.dumps(journal(scenario, overrides), indent=1) + "\n"
    (DATA / f"{name}.json").write_text(text, encoding="utf-8")


if __name__ == "__main__":  # PYTHONPATH=tests python tests/brokers_common/step_journal.py
    from backing_services import PG_ADMIN_URL

    for scenario_name in sys.argv[1:] or SCENARIOS:
        _write(scenario_name, PG_ADMIN_URL)
