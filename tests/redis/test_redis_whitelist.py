"""The Redis broker's whitelist guard over real HTTP, with the real SDK transport, against
the emulator (no redis-server behind the instances): see brokers_common/whitelist_cases.py."""

from __future__ import annotations

from typing import Any

from brokers_common import whitelist_cases
from redis_harness import REDIS, RunningRedis, emulator, fast_transport, plan_id, redis_broker, redis_settings

SMALL = plan_id("standard-256mb")


def _whitelist_of(running: RunningRedis) -> whitelist_cases.WhitelistOf:
    def whitelist(instance_id: str) -> set[str]:
        fetched = running.client.fetch_instance(instance_id)
        kv_id = fetched.json["metadata"]["attributes"]["alibaba_cloud_instance_id"]
        found = fast_transport(running.settings).call(
            "r-kvstore", "DescribeSecurityIps", {"RegionId": running.settings.region_id, "InstanceId": kv_id}
        )
        groups = found["SecurityIpGroups"]["SecurityIpGroup"]
        return {ip for group in groups for ip in group["SecurityIpList"].split(",") if ip}

    return whitelist


def test_bypass_lists_are_refused_on_provision_and_update() -> None:
    with emulator() as cloud, redis_broker(emulator_url=cloud.url) as running:
        whitelist_cases.assert_provisions_refused(running.client, cloud, REDIS.id, SMALL)
        whitelist_cases.assert_updates_refused(running.client, cloud, REDIS.id, SMALL, _whitelist_of(running))


def test_bypass_lists_are_accepted_when_the_operator_allows_public_access(tmp_path: Any) -> None:
    with (
        emulator() as cloud,
        redis_broker(redis_settings(cloud.url, tmp_path, allow_public_access=True)) as running,
    ):
        whitelist_cases.assert_public_lists_accepted(running.client, REDIS.id, SMALL, _whitelist_of(running))
