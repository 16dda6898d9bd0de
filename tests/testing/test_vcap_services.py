"""VCAP_SERVICES as Cloud Controller presents it."""

from __future__ import annotations

import json

import pytest

from openbroker_aliyun.testing.vcap import VcapBinding, build_vcap_services, vcap_services_entry

CATALOG = {
    "services": [
        {
            "id": "svc-db",
            "name": "aliyun-rds-postgresql",
            "tags": ["postgresql", "postgres", "relational"],
            "plans": [{"id": "plan-small", "name": "small"}, {"id": "plan-large", "name": "large"}],
        },
        {
            "id": "svc-cache",
            "name": "aliyun-redis",
            "tags": ["redis"],
            "plans": [{"id": "plan-c", "name": "c"}],
        },
    ]
}
CREDENTIALS = {"uri": "postgresql://u:p@h:5432/d", "host": "h", "port": 5432}


def test_entry_has_every_field_cc_presents() -> None:
    binding = {
        "credentials": CREDENTIALS,
        "syslog_drain_url": "syslog://logs.example:514",
        "volume_mounts": [
            {
                "driver": "nfs",
                "container_dir": "/data",
                "mode": "rw",
                "device_type": "shared",
                "device": {"volume_id": "v1", "mount_config": {"secret": "x"}},
            }
        ],
    }
    entry = vcap_services_entry(
        CATALOG,
        VcapBinding(
            "svc-db", "plan-large", "inst-1", "orders-db", "bind-1", binding, "orders", ("prod", "postgres")
        ),
    )
    assert entry == {
        "label": "aliyun-rds-postgresql",
        "provider": None,
        "plan": "large",
        "name": "orders",
        "tags": ["postgresql", "postgres", "relational", "prod"],
        "instance_guid": "inst-1",
        "instance_name": "orders-db",
        "binding_guid": "bind-1",
        "binding_name": "orders",
        "credentials": CREDENTIALS,
        "syslog_drain_url": "syslog://logs.example:514",
        # The device (with its mount config) is private to the platform.
        "volume_mounts": [{"container_dir": "/data", "mode": "rw", "device_type": "shared"}],
    }


def test_bindings_are_grouped_by_label_and_named_after_the_instance_by_default() -> None:
    vcap = build_vcap_services(
        CATALOG,
        [
            VcapBinding("svc-db", "plan-small", "i1", "db-a", "b1", {"credentials": CREDENTIALS}),
            VcapBinding("svc-db", "plan-small", "i2", "db-b", "b2", {"credentials": {}}),
            VcapBinding("svc-cache", "plan-c", "i3", "cache", "b3", {}),
        ],
    )
    assert list(vcap) == ["aliyun-rds-postgresql", "aliyun-redis"]
    assert [e["name"] for e in vcap["aliyun-rds-postgresql"]] == ["db-a", "db-b"]
    assert vcap["aliyun-redis"][0]["credentials"] == {}
    assert vcap["aliyun-redis"][0]["binding_name"] is None
    assert json.loads(json.dumps(vcap)) == vcap


@pytest.mark.parametrize(("service_id", "plan_id"), [("nope", "plan-c"), ("svc-cache", "plan-small")])
def test_ids_not_in_the_catalog_are_an_error(service_id: str, plan_id: str) -> None:
    with pytest.raises(KeyError, match="not in the catalog"):
        vcap_services_entry(CATALOG, VcapBinding(service_id, plan_id, "i", "n", "b", {}))
