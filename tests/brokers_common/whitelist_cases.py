"""Whitelist entries the default policy must refuse, and the end-to-end checks that the RDS
and Redis tests (tests/rds/test_rds_whitelist.py, tests/redis/test_redis_whitelist.py)
run through real HTTP against a broker on the emulator."""

from __future__ import annotations

import uuid
from typing import Callable

from openbroker_aliyun.emulator.admin_client import EmulatorAdmin
from openbroker_aliyun.testing.client import OSBClient, OSBResponse

#: The IPv4 internet as eight blocks.
EIGHT_SLASH_3 = [f"{first}.0.0.0/3" for first in range(0, 256, 32)]

#: Lists of user entries that each open an instance beyond what the operator allows.
BYPASS_LISTS: dict[str, list[str]] = {
    "two-halves": ["0.0.0.0/1", "128.0.0.0/1"],
    "eight-slash-3": EIGHT_SLASH_3,
    "mapped-dotted": ["::ffff:0.0.0.0/96"],
    "mapped": ["::ffff:0:0/96"],
    "ipv6-global": ["2000::/3"],
    "public-address": ["203.0.113.9"],
    "broad-private": ["10.0.0.0/8"],
}

#: What a user may add under the default policy: private, narrow enough, IPv4-mapped private.
ACCEPTED = ["10.1.0.0/16", "fd00::/48", "::ffff:192.168.7.0/120"]

#: The whitelist of one OSB instance, read from the emulator through the product's API.
WhitelistOf = Callable[[str], set[str]]


def assert_refused(response: OSBResponse, ips: list[str]) -> None:
    """A 400 with an OSB error body whose description names the first entry and says why."""
    assert response.status == 400, response.summary()
    assert set(response.json) == {"description"}, response.json  # the spec's 400: no error code
    description = response.description or ""
    assert description.startswith(f"Invalid parameters: security_ips: {ips[0]} "), description
    assert "outside the networks the operator allows" in description or "broader than /16" in description
    if len(ips) == 2:
        assert description.endswith(" (1 more entry is refused too.)")
    elif len(ips) > 2:
        assert description.endswith(f" ({len(ips) - 1} more entries are refused too.)")


def assert_provisions_refused(client: OSBClient, cloud: EmulatorAdmin, service_id: str, plan_id: str) -> None:
    """Every bypass list is refused on provision; no instance is recorded, no Alibaba call made."""
    cloud.reset_calls()
    for ips in BYPASS_LISTS.values():
        instance_id = str(uuid.uuid4())
        assert_refused(
            client.provision(instance_id, service_id, plan_id, parameters={"security_ips": ips}), ips
        )
        assert client.fetch_instance(instance_id).status == 404  # no instance was recorded
    assert cloud.count() == 0
    assert cloud.instances() == []


def assert_updates_refused(
    client: OSBClient, cloud: EmulatorAdmin, service_id: str, plan_id: str, whitelist_of: WhitelistOf
) -> None:
    """An instance provisioned with the ``ACCEPTED`` entries: every bypass list is refused on
    update, with no Alibaba call, and its whitelist and parameters stay as they were."""
    instance_id = str(uuid.uuid4())
    client.provision_and_wait(instance_id, service_id, plan_id, parameters={"security_ips": ACCEPTED})
    before = whitelist_of(instance_id)
    assert set(ACCEPTED) <= before
    cloud.reset_calls()
    for ips in BYPASS_LISTS.values():
        assert_refused(client.update(instance_id, service_id, parameters={"security_ips": ips}), ips)
    assert cloud.count() == 0
    assert whitelist_of(instance_id) == before
    assert client.fetch_instance(instance_id).json["parameters"]["security_ips"] == ACCEPTED
    assert client.last_operation(instance_id).json["state"] == "succeeded"  # still the provision's
    client.deprovision_and_wait(instance_id, service_id, plan_id)


def assert_public_lists_accepted(
    client: OSBClient, service_id: str, plan_id: str, whitelist_of: WhitelistOf
) -> None:
    """With public access allowed, the bypass lists reach the instance's whitelist."""
    instance_id = str(uuid.uuid4())
    halves = BYPASS_LISTS["two-halves"]
    client.provision_and_wait(instance_id, service_id, plan_id, parameters={"security_ips": halves})
    assert set(halves) <= whitelist_of(instance_id)
    wider = [*BYPASS_LISTS["mapped"], *BYPASS_LISTS["ipv6-global"], *BYPASS_LISTS["broad-private"]]
    client.update_and_wait(instance_id, service_id, parameters={"security_ips": wider})
    found = whitelist_of(instance_id)
    assert set(wider) <= found and not set(halves) & found
    client.deprovision_and_wait(instance_id, service_id, plan_id)
