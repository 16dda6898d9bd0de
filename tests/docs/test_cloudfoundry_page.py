"""docs/cloudfoundry.md's ``VCAP_SERVICES`` example is what an app really gets.

The demo broker provisions and binds the page's example (`aliyun-rds-mysql`,
`basic-small`, database `orders`) through the platform-like client; the test kit then
builds ``VCAP_SERVICES`` as the Cloud Controller does, and the page's JSON must have the
same shape: the same keys everywhere, the same label, plan, tags and credential types.
Ids, host names and the password differ by nature.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from openbroker_aliyun.testing.client import OSBClient
from openbroker_aliyun.testing.vcap import VcapBinding, build_vcap_services

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "cloudfoundry.md"


def page_vcap_services() -> dict[str, Any]:
    text = PAGE.read_text(encoding="utf-8")
    section = text.split("## What the app sees", 1)[1]
    block = re.search(r"^```json\n(.*?)^```", section, flags=re.MULTILINE | re.DOTALL)
    assert block, "no JSON example under 'What the app sees'"
    return json.loads(block.group(1))


def page_create_service() -> tuple[str, str, str, dict[str, Any]]:
    """Offering, plan, instance name and parameters of the page's `cf create-service`."""
    text = PAGE.read_text(encoding="utf-8")
    match = re.search(r"^cf create-service (\S+) (\S+) (\S+) -c '([^']*)'", text, flags=re.MULTILINE)
    assert match
    return match.group(1), match.group(2), match.group(3), json.loads(match.group(4))


@pytest.mark.slow
def test_vcap_services_example_matches_a_real_binding(demo: dict[str, str]) -> None:
    offering, plan_name, instance_name, parameters = page_create_service()
    client = OSBClient(demo["url"], demo["username"], demo["password"])
    catalog = client.catalog().json
    service = next(s for s in catalog["services"] if s["name"] == offering)
    plan = next(p for p in service["plans"] if p["name"] == plan_name)
    example = page_vcap_services()
    shown = example[offering][0]
    database = shown["credentials"]["database"]

    instance_id, binding_id = str(uuid.uuid4()), str(uuid.uuid4())
    client.provision_and_wait(
        instance_id,
        service["id"],
        plan["id"],
        parameters={**parameters, "database_name": database},
        instance_name=instance_name,
    )
    bound = client.bind_and_wait(instance_id, binding_id, service["id"], plan["id"])
    real = build_vcap_services(
        catalog,
        [
            VcapBinding(
                service_id=service["id"],
                plan_id=plan["id"],
                instance_id=instance_id,
                instance_name=instance_name,
                binding_id=binding_id,
                binding=bound.body,
            )
        ],
    )

    assert set(real) == set(example) == {offering}
    entry = real[offering][0]
    assert entry.keys() == shown.keys()
    for key in (
        "label",
        "provider",
        "plan",
        "name",
        "tags",
        "instance_name",
        "binding_name",
        "volume_mounts",
    ):
        assert entry[key] == shown[key], key
    credentials = entry["credentials"]
    assert credentials.keys() == shown["credentials"].keys()
    for key, value in credentials.items():
        assert type(value) is type(shown["credentials"][key]), key
    for key in ("database", "name", "type", "provider"):
        assert credentials[key] == shown["credentials"][key], key
    # The page's uri is built the way the broker builds it: scheme, encoded user info, database.
    assert shown["credentials"]["uri"].startswith("mysql://") and credentials["uri"].startswith("mysql://")
    assert shown["credentials"]["uri"].endswith(f"/{database}") and credentials["uri"].endswith(
        f"/{database}"
    )
